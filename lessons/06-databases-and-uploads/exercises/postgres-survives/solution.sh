#!/usr/bin/env bash
set -e
wait_db() { for _ in $(seq 1 60); do docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && return; sleep 0.5; done; echo "postgres did not become ready"; return 1; }
docker rm -f shop-db >/dev/null 2>&1 || true
docker run -d --name shop-db -e POSTGRES_PASSWORD=secret -v shop-data:/var/lib/postgresql/data postgres:15
wait_db
docker exec shop-db psql -U postgres -c "CREATE TABLE IF NOT EXISTS orders (item text); INSERT INTO orders VALUES ('teapot');"
sleep 1.1 # the new container must be created measurably later than the data
docker rm -f shop-db
docker run -d --name shop-db -e POSTGRES_PASSWORD=secret -v shop-data:/var/lib/postgresql/data postgres:15
wait_db
docker exec shop-db psql -U postgres -c 'SELECT * FROM orders'
