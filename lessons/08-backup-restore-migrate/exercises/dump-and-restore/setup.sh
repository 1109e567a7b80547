#!/usr/bin/env bash
# A shop database that is in use: shop-db runs, with the database shop in the volume shop-data.
set -e
docker rm -f shop-db shop-db2 >/dev/null 2>&1 || true
docker volume create shop-data >/dev/null
docker run -d --name shop-db -e POSTGRES_PASSWORD=secret -v shop-data:/var/lib/postgresql/data postgres:15 >/dev/null
for _ in $(seq 1 90); do docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker exec shop-db psql -q -U postgres -c 'CREATE DATABASE shop'
docker exec shop-db psql -q -U postgres -d shop -c "CREATE TABLE orders (item text); INSERT INTO orders VALUES ('teapot'), ('kettle'), ('cups');"
