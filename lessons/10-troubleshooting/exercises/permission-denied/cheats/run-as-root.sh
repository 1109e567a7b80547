#!/usr/bin/env bash
# fails: ledger-running
# Drops --user 999:999 so postgres starts as root and fixes its own folder.
set -e
docker rm -f ledger
docker run -d --name ledger -e POSTGRES_PASSWORD=secret -e PGDATA=/var/lib/postgresql/data/pgdata -v ledger-data:/var/lib/postgresql/data postgres:15
