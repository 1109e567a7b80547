#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' shop-db 2>/dev/null) || { echo "There is no container named shop-db yet."; exit 1; }
m=$(jq -c '.[] | select(.Destination=="/var/lib/postgresql/data")' <<<"$mounts")
[ "$(jq -r .Name <<<"$m")" = shop-data ] || { echo "shop-db does not have the volume shop-data at /var/lib/postgresql/data (it has ${m:+the volume $(jq -r .Name <<<"$m" | cut -c1-12)}${m:-nothing} there): recreate it with -v shop-data:/var/lib/postgresql/data."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' shop-db)" = true ] || { echo "shop-db has the right volume but is not running: docker logs shop-db tells you why (POSTGRES_PASSWORD set?)."; exit 1; }
