#!/usr/bin/env bash
# A volume "restored" by root, and a postgres hardened to run as uid 999: it cannot write.
set -e
docker rm -f ledger >/dev/null 2>&1 || true
docker volume create ledger-data >/dev/null
docker run --rm -v ledger-data:/data busybox sh -c 'echo "ledger data, restored from backup" > /data/README'
docker run -d --name ledger --user 999:999 -e POSTGRES_PASSWORD=secret \
  -e PGDATA=/var/lib/postgresql/data/pgdata -v ledger-data:/var/lib/postgresql/data postgres:15 >/dev/null
for _ in $(seq 1 20); do [ "$(docker inspect --format '{{.State.Running}}' ledger)" = false ] && break; sleep 0.3; done
