#!/usr/bin/env bash
# fails: gone-after-rm
# Deletes the file inside the old container instead of removing the container.
set -e
docker exec doomed rm /data/important.txt
