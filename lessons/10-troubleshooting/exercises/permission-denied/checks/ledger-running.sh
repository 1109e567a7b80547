#!/usr/bin/env bash
docker inspect ledger >/dev/null 2>&1 || { echo "The container ledger is gone: restart the exercise to get it back."; exit 1; }
user=$(docker inspect --format '{{.Config.User}}' ledger)
[[ "$user" == 999* || "$user" == postgres* ]] || { echo "ledger now runs as '${user:-root}': the point is to make it work as uid 999, so keep --user 999:999."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' ledger)" = true ] || { echo "ledger is not running: after fixing the owners, start it with docker start ledger (docker logs ledger shows the last error)."; exit 1; }
docker exec ledger pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null || { echo "ledger is running but not accepting connections yet: wait a few seconds and check again."; exit 1; }
