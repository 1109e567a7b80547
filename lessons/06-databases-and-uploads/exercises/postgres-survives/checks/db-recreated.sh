#!/usr/bin/env bash
docker inspect shop-db >/dev/null 2>&1 || { echo "There is no container named shop-db right now: run the new one with the same -v shop-data:/var/lib/postgresql/data."; exit 1; }
[ "$(docker inspect --format '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Name}}{{end}}{{end}}' shop-db)" = shop-data ] || { echo "The new shop-db does not mount shop-data at /var/lib/postgresql/data, so it started with an empty database."; exit 1; }
docker exec shop-db pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null || { echo "shop-db is not accepting connections (yet): wait a moment, or check docker logs shop-db."; exit 1; }
created=$(date -d "$(docker inspect --format '{{.Created}}' shop-db)" +%s)
inited=$(docker exec shop-db stat -c %Y /var/lib/postgresql/data/PG_VERSION 2>/dev/null) || { echo "shop-db's data directory has no PG_VERSION: is the database initialised?"; exit 1; }
[ "$created" -gt "$inited" ] || { echo "This shop-db is still the container that created the database: remove it and run a new one with the same volume."; exit 1; }
n=$(docker exec shop-db psql -U postgres -tAc "SELECT count(*) FROM orders WHERE item = 'teapot'" 2>/dev/null)
[ "${n:-0}" -ge 1 ] 2>/dev/null || { echo "shop-db was recreated with shop-data, but there is no teapot in orders: was the order stored before you recreated it?"; exit 1; }
