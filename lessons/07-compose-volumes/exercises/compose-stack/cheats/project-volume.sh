#!/usr/bin/env bash
# fails: external-assets
# Declares shared-assets as the project's own volume: compose makes an empty notes-stack_shared-assets.
set -e
cd ~/notes-stack
cat > docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes
  web:
    image: nginx
    volumes:
      - shared-assets:/usr/share/nginx/html:ro
volumes:
  shared-assets:
YAML
docker compose up -d
