#!/usr/bin/env bash
set -e
docker inspect --format '{{json .Mounts}}' journal | jq
cmd=$(docker inspect --format '{{index .Config.Cmd 2}}' journal)
docker rm -f journal
docker run -d --name journal -v journal-data:/data busybox sh -c "$cmd"
sleep 1
docker run --rm -v journal-data:/data busybox tail -n 2 /data/journal.txt
