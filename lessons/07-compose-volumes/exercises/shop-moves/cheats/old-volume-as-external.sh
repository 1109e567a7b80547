#!/usr/bin/env bash
# fails: project-name
# Leaves the project named after its folder and mounts the old volume as external instead.
set -e
cd ~/shop-2026
cat > compose.yaml <<'YAML'
services:
  worker:
    image: busybox
    command: sh -c 'date >> /cache/starts.txt; exec sleep 3600'
    volumes:
      - /cache
      - db:/data
volumes:
  db:
    external: true
    name: shop_db
YAML
docker compose up -d
