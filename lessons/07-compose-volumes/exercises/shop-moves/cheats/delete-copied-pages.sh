#!/usr/bin/env bash
# fails: pages-nocopy
# Deletes the copied pages by hand instead of using nocopy.
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
docker compose exec -T web sh -c 'rm -f /usr/share/nginx/html/*'
