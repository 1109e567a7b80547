#!/usr/bin/env bash
# fails: temp-removed
# Removes temp without -v: its anonymous volume stays behind.
set -e
docker volume rm old-cache
docker rm -f temp
