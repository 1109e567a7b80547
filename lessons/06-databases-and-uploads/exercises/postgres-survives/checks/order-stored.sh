#!/usr/bin/env bash
docker inspect shop-db >/dev/null 2>&1 || { echo "There is no container named shop-db: start it first."; exit 1; }
docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null || { echo "shop-db is not accepting connections (yet): wait a moment, or check docker logs shop-db."; exit 1; }
out=$(docker exec shop-db psql -U postgres -tAc "SELECT count(*) FROM orders WHERE item = 'teapot'" 2>&1)
case "$out" in
  *"does not exist"*) echo "The database in shop-db has no table orders: create it with CREATE TABLE orders (item text);"; exit 1;;
  0) echo "The table orders exists, but has no row with item 'teapot'."; exit 1;;
  ''|*[!0-9]*) echo "Could not query orders in shop-db: $(head -n1 <<<"$out")"; exit 1;;
esac
