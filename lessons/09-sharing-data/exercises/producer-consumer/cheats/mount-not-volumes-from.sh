#!/usr/bin/env bash
# fails: auditor-volumes-from
# Mounts feed by name instead of taking producer's volumes with --volumes-from.
set -e
docker run -d --name producer -v feed:/out busybox sh -c 'while true; do date >> /out/log.txt; sleep 2; done'
docker run -d --name auditor -v feed:/out:ro busybox sleep 3600
