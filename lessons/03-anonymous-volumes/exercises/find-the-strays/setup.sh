#!/usr/bin/env bash
set -e
docker rm -f cache olddb >/dev/null 2>&1 || true
docker run -d --name cache -v /cache busybox sh -c 'date > /cache/warmed-at; exec sleep 3600' >/dev/null
# An old database: postgres initialises its anonymous volume, then the container is removed without -v.
docker run -d --name olddb -e POSTGRES_PASSWORD=secret postgres:15 >/dev/null
for _ in $(seq 1 60); do docker exec olddb pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker rm -f olddb >/dev/null
