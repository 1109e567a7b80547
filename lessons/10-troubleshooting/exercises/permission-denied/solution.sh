#!/usr/bin/env bash
set -e
docker logs ledger 2>&1 | tail -n 3
docker run --rm -v ledger-data:/data busybox ls -lna /data
docker run --rm -v ledger-data:/data busybox chown -R 999:999 /data
docker start ledger
for _ in $(seq 1 60); do docker exec ledger pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker exec ledger pg_isready -h 127.0.0.1 -U postgres
