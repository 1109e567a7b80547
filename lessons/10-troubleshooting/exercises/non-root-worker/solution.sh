#!/usr/bin/env bash
set -e
docker run --rm --user 1000:1000 -v worker-data:/data busybox touch /data/out.txt || echo "as expected: Permission denied"
docker run --rm -v worker-data:/v busybox ls -lnd /v
docker run --rm -v worker-data:/data busybox chown 1000:1000 /data
docker run -d --name worker --user 1000:1000 -v worker-data:/data busybox sh -c 'date > /data/out.txt; exec sleep 3600'
