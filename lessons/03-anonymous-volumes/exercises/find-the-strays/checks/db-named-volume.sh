#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' db 2>/dev/null) || { echo "There is no container named db yet."; exit 1; }
jq -e '.[] | select(.Type=="volume" and .Name=="pgdata" and .Destination=="/var/lib/postgresql/data")' <<<"$mounts" >/dev/null || { echo "db exists, but pgdata is not mounted at /var/lib/postgresql/data, so postgres got an anonymous volume: remove db and run it again with -v pgdata:/var/lib/postgresql/data."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' db)" = true ] || { echo "db has the right volume but is not running; docker logs db tells you why (did you set POSTGRES_PASSWORD?)."; exit 1; }
