#!/usr/bin/env bash
# fails: survives-restart
# Writes the note and never stops or starts keeper.
set -e
docker run -d --name keeper debian:bookworm-slim sleep infinity
docker exec keeper sh -c 'mkdir -p /data && echo remember me > /data/note.txt'
