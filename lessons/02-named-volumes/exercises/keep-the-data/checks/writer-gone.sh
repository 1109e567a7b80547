#!/usr/bin/env bash
docker volume inspect app-data >/dev/null 2>&1 || { echo "The volume app-data does not exist: create it first."; exit 1; }
content=$(docker run --rm -v app-data:/data busybox cat /data/greeting.txt 2>/dev/null)
[ -n "$content" ] || { echo "The volume app-data exists but has no greeting.txt: run writer with -v app-data:/data and write /data/greeting.txt."; exit 1; }
if docker inspect writer >/dev/null 2>&1; then echo "greeting.txt is in app-data, but the container writer still exists: remove it with docker rm -f writer."; exit 1; fi
