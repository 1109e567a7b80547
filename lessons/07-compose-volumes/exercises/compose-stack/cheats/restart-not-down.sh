#!/usr/bin/env bash
# fails: down-keeps-data
# Restarts the stack instead of taking it down and up again.
set -e
cd ~/notes-stack
cat > docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes
    volumes:
      - db:/data
      - uploads:/app/uploads
volumes:
  db:
  uploads:
YAML
docker compose up -d
for _ in $(seq 1 40); do docker compose exec -T app sqlite3 /data/app.db 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
docker compose exec -T app sqlite3 /data/app.db "INSERT INTO entries (text, created_at) VALUES ('survivor', datetime('now'))"
sleep 1.1
docker compose restart
