#!/usr/bin/env bash
set -e
docker exec shop-db pg_dump -U postgres -Fc shop > ~/shop.dump
ls -l ~/shop.dump
docker run -d --name shop-db2 -e POSTGRES_PASSWORD=secret -v shop-data2:/var/lib/postgresql/data postgres:15
for _ in $(seq 1 90); do docker exec shop-db2 pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker exec -i shop-db2 pg_restore -U postgres --create -d postgres < ~/shop.dump
docker exec shop-db2 psql -U postgres -d shop -c 'SELECT * FROM orders'
