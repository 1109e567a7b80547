#!/usr/bin/env bash
docker volume inspect ledger-data >/dev/null 2>&1 || { echo "The volume ledger-data is gone: restart the exercise to get it back."; exit 1; }
owner=$(docker run --rm -v ledger-data:/v busybox stat -c %u:%g /v 2>/dev/null)
[ "$owner" = 999:999 ] || { echo "The top folder of ledger-data belongs to $owner, but postgres runs as 999:999: chown -R 999:999 it from a busybox helper."; exit 1; }
bad=$(docker run --rm -v ledger-data:/v busybox find /v ! -user 999 2>/dev/null | head -n 1)
[ -z "$bad" ] || { echo "${bad#/v} in ledger-data still belongs to another user: use chown -R so everything is changed."; exit 1; }
