#!/usr/bin/env bash
set -e
cd ~/notes-stack
cat > docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes
    volumes:
      - db:/data
      - uploads:/app/uploads

  web:
    image: nginx
    volumes:
      - shared-assets:/usr/share/nginx/html:ro
      - ./default.conf:/etc/nginx/conf.d/default.conf:ro

volumes:
  db:
  uploads:
  shared-assets:
    external: true
YAML
docker compose up -d
for _ in $(seq 1 40); do docker compose exec -T app sqlite3 /data/app.db 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
docker compose exec -T app sqlite3 /data/app.db "INSERT INTO entries (text, created_at) VALUES ('survivor', datetime('now'))"
sleep 1.1 # the new containers must be created measurably later than the note
docker compose down
docker compose up -d
for _ in $(seq 1 40); do docker compose exec -T app sqlite3 /data/app.db 'SELECT * FROM entries' 2>/dev/null && break; sleep 0.5; done
