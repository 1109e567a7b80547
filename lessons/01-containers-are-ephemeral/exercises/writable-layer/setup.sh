#!/usr/bin/env bash
# A container whose only copy of a file lives in its writable layer.
set -e
docker rm -f doomed >/dev/null 2>&1 || true
docker run -d --name doomed debian:bookworm-slim sleep infinity >/dev/null
docker exec doomed sh -c 'mkdir -p /data && echo "quarterly numbers, the only copy" > /data/important.txt'
