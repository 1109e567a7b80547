#!/usr/bin/env bash
set -e
docker rm -f producer consumer auditor >/dev/null 2>&1 || true
docker run -d --name producer -v feed:/out busybox sh -c 'while true; do date >> /out/log.txt; sleep 2; done'
sleep 1
docker run -d --name consumer -v feed:/in:ro busybox tail -f /in/log.txt
docker run -d --name auditor --volumes-from producer:ro busybox sleep 3600
docker exec auditor tail -n 3 /out/log.txt
