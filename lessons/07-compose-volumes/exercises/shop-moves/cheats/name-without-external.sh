#!/usr/bin/env bash
# fails: external-by-name
# Gives the backup volume its name but not external: compose takes it for the project's own, and down -v would delete it.
set -e
cd ~/shop-2026
cat > compose.yaml <<'YAML'
name: shop
services:
  web:
    image: nginx
    volumes:
      - assets:/usr/share/nginx/html/assets:ro
volumes:
  assets:
    name: assets-2026-12-01
YAML
docker compose up -d
