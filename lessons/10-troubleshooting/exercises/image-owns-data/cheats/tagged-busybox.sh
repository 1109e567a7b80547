#!/usr/bin/env bash
# fails: image-built
# No Dockerfile at all: busybox renamed stash, the volume given to 10001 by hand, and the user
# and command given on the command line.
set -e
docker tag busybox stash
docker run --rm -v stash-data:/data busybox sh -c 'chown 10001:10001 /data'
docker run -d --name app --user 10001:10001 -v stash-data:/data stash sh -c 'while true; do date >> /data/log.txt; sleep 5; done'
sleep 1
