#!/usr/bin/env bash
# fails: app-volumes
# Bind-mounts folders of the project instead of declaring named volumes.
set -e
cd ~/notes-stack
cat > docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes
    volumes:
      - ./db:/data
      - ./uploads:/app/uploads
YAML
docker compose up -d
