#!/usr/bin/env bash
# fails: pages-nocopy
# Adds nocopy only after pages was filled from the image: nocopy keeps only an empty volume empty.
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
cat > compose.yaml <<'YAML'
name: shop
services:
  web:
    image: nginx
    volumes:
      - type: volume
        source: pages
        target: /usr/share/nginx/html
        volume:
          nocopy: true
volumes:
  pages:
YAML
docker compose up -d
