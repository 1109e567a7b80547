#!/usr/bin/env bash
docker inspect notes >/dev/null 2>&1 || { echo "There is no container named notes right now: run it again with the same two volumes."; exit 1; }
mounts=$(docker inspect --format '{{json .Mounts}}' notes)
jq -e '[.[] | select(.Type=="volume" and ((.Name=="notes-db" and .Destination=="/data") or (.Name=="notes-uploads" and .Destination=="/app/uploads")))] | length == 2' <<<"$mounts" >/dev/null || { echo "The current notes container does not mount both notes-db at /data and notes-uploads at /app/uploads."; exit 1; }
first=$(docker exec notes sqlite3 /data/app.db 'SELECT min(created_at) FROM entries' 2>/dev/null)
[ -n "$first" ] || { echo "notes sees no entries in /data/app.db: add a note before recreating the container."; exit 1; }
created=$(date -d "$(docker inspect --format '{{.Created}}' notes)" +%s)
[ "$created" -gt "$(date -u -d "$first" +%s)" ] || { echo "Your note is there, but this is still the container it was written with: remove notes and run it again with the same volumes."; exit 1; }
docker exec notes sh -c '[ -n "$(ls -A /app/uploads)" ]' || { echo "notes was recreated and kept the notes, but /app/uploads is empty in it: upload a file, and keep notes-uploads mounted."; exit 1; }
