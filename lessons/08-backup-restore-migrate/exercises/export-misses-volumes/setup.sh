#!/usr/bin/env bash
# diary: one file in its writable layer, one in its volume.
set -e
docker rm -f diary >/dev/null 2>&1 || true
docker run -d --name diary -v diary-pages:/pages busybox sh -c 'echo v1 > /etc/diary-version; echo "dear diary, volumes are not in exports" > /pages/today.txt; exec sleep 3600' >/dev/null
for _ in $(seq 1 20); do docker exec diary test -f /pages/today.txt 2>/dev/null && break; sleep 0.2; done
