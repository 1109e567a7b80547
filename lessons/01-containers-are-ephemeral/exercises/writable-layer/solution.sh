#!/usr/bin/env bash
set -e
# 1. keeper with a note in its writable layer
docker rm -f keeper >/dev/null 2>&1 || true
docker run -d --name keeper debian:bookworm-slim sleep infinity
docker exec keeper sh -c 'mkdir -p /data && echo remember me > /data/note.txt'
sleep 1.1 # so the restart is measurably later than the note
# 2. stop and start: the note survives
docker stop -t 1 keeper
docker start keeper
docker exec keeper cat /data/note.txt
# 3. remove doomed and run a fresh one: the file is gone
docker rm -f doomed
docker run -d --name doomed debian:bookworm-slim sleep infinity
docker exec doomed ls /data || echo "/data does not exist in the new container"
