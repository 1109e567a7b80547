#!/usr/bin/env bash
# fails: labelled
# Creates blog-cache without the label (there is no way to add it afterwards).
set -e
docker volume create blog-cache
