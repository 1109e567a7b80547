#!/usr/bin/env bash
set -e
docker rm -f journal >/dev/null 2>&1 || true
docker volume create journal-data >/dev/null
docker run -d --name journal -v journal-data:/dta busybox \
  sh -c 'mkdir -p /data; while true; do echo "$(date) all quiet" >> /data/journal.txt; sleep 2; done' >/dev/null
