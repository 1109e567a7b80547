#!/usr/bin/env bash
# fails: db-recreated
# Restarts shop-db instead of removing it and running a new one.
set -e
docker run -d --name shop-db -e POSTGRES_PASSWORD=secret -v shop-data:/var/lib/postgresql/data postgres:15
for _ in $(seq 1 60); do docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker exec shop-db psql -U postgres -c "CREATE TABLE orders (item text); INSERT INTO orders VALUES ('teapot');"
sleep 1.1
docker restart -t 1 shop-db
for _ in $(seq 1 60); do docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
