#!/usr/bin/env bash
set -e
docker volume create app-data
docker rm -f writer reader >/dev/null 2>&1 || true
docker run --name writer -v app-data:/data busybox sh -c 'echo hello from writer > /data/greeting.txt'
docker rm writer
docker run -d --name reader --mount type=volume,source=app-data,target=/data busybox sleep 3600
docker exec reader cat /data/greeting.txt
