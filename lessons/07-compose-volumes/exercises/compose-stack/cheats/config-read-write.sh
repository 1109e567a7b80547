#!/usr/bin/env bash
# fails: readonly-config
# Mounts the configuration read-write.
set -e
cd ~/notes-stack
cat > docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes
  web:
    image: nginx
    volumes:
      - ./default.conf:/etc/nginx/conf.d/default.conf
YAML
docker compose up -d
