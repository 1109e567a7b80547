#!/usr/bin/env bash
# fails: temp-gone
# Prunes every unused volume instead of the labelled ones.
set -e
docker volume prune -f
