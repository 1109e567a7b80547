#!/usr/bin/env bash
# fails: pages-nocopy
# Mounts pages in the short syntax: the new volume is filled with nginx's welcome page.
set -e
cd ~/shop-2026
cat > compose.yaml <<'YAML'
name: shop
services:
  web:
    image: nginx
    volumes:
      - pages:/usr/share/nginx/html
volumes:
  pages:
YAML
docker compose up -d
