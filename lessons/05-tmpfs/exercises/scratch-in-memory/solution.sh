#!/usr/bin/env bash
set -e
docker rm -f cruncher locked >/dev/null 2>&1 || true
docker run -d --name cruncher --tmpfs /scratch:size=16m busybox sleep 3600
docker exec cruncher df -h /scratch
docker run -d --name locked --read-only --tmpfs /tmp busybox sleep 3600
docker exec locked touch /tmp/hello
