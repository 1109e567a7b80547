#!/usr/bin/env bash
# fails: worker-writes
# Opens the volume to everyone instead of giving it to uid 1000.
set -e
docker run --rm -v worker-data:/data busybox chmod 777 /data
docker run -d --name worker --user 1000:1000 -v worker-data:/data busybox sh -c 'date > /data/out.txt; exec sleep 3600'
