#!/usr/bin/env bash
# fails: strays-removed
# Removes cache with its volume too, and prunes whatever is left.
set -e
docker rm -f -v cache
docker volume prune -f
