#!/usr/bin/env bash
# fails: note-written
# Puts /data on an anonymous volume, so the note is not in the writable layer at all.
set -e
docker run -d --name keeper -v /data debian:bookworm-slim sleep infinity
docker exec keeper sh -c 'echo remember me > /data/note.txt'
