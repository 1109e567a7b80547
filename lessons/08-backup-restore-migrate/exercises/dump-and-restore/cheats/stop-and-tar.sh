#!/usr/bin/env bash
# fails: dump-made
# Stops the database and dumps it afterwards (downtime the task says is not needed).
set -e
docker stop shop-db
docker start shop-db
for _ in $(seq 1 90); do docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break; sleep 0.5; done
docker exec shop-db pg_dump -U postgres -Fc shop > ~/shop.dump
