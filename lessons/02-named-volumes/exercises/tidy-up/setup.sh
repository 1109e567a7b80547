#!/usr/bin/env bash
set -e
docker volume create old-cache >/dev/null
docker volume create reports >/dev/null
docker rm -f temp >/dev/null 2>&1 || true
docker run -d --name temp -v reports:/reports -v /scratch busybox sh -c 'echo "Q3 revenue: up" > /reports/q3.txt; echo tmp > /scratch/junk; exec sleep 3600' >/dev/null
for _ in $(seq 1 20); do docker exec temp test -f /reports/q3.txt 2>/dev/null && break; sleep 0.2; done
