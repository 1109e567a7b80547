#!/usr/bin/env bash
# fails: dump-restored
# Copies the data files into the new volume instead of restoring the dump.
set -e
docker exec shop-db pg_dump -U postgres -Fc shop > ~/shop.dump
docker stop shop-db
docker run --rm -v shop-data:/from -v shop-data2:/to busybox cp -a /from/. /to/
docker run -d --name shop-db2 -e POSTGRES_PASSWORD=secret -v shop-data2:/var/lib/postgresql/data postgres:15
for _ in $(seq 1 90); do docker exec shop-db2 pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
