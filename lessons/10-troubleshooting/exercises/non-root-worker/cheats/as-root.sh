#!/usr/bin/env bash
# fails: worker-writes
# Drops --user: root can write anywhere.
set -e
docker run -d --name worker -v worker-data:/data busybox sh -c 'date > /data/out.txt; exec sleep 3600'
