#!/usr/bin/env bash
id=$(docker ps -q --filter label=com.docker.compose.project=notes-stack --filter label=com.docker.compose.service=app | head -n1)
[ -n "$id" ] || { echo "The app service of notes-stack is not running: docker compose up -d inside ~/notes-stack."; exit 1; }
docker volume inspect notes-stack_db >/dev/null 2>&1 || { echo "There is no volume notes-stack_db: give app the volume db at /data first."; exit 1; }
first=$(docker exec "$id" sqlite3 /data/app.db 'SELECT min(created_at) FROM entries' 2>/dev/null)
[ -n "$first" ] || { echo "There is no note in /data/app.db yet: add one, then docker compose down and up -d."; exit 1; }
created=$(date -d "$(docker inspect --format '{{.Created}}' "$id")" +%s)
[ "$created" -gt "$(date -u -d "$first" +%s)" ] || { echo "Your note is there, but the app container is still the one it was written with: run docker compose down, then docker compose up -d."; exit 1; }
