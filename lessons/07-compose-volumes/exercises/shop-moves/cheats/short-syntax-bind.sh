#!/usr/bin/env bash
# fails: conf-strict
# Binds ./conf.d in the short syntax, which creates a missing folder instead of failing.
set -e
cd ~/shop-2026
cat > compose.yaml <<'YAML'
name: shop
services:
  web:
    image: nginx
    volumes:
      - ./conf.d:/etc/nginx/conf.d:ro
YAML
docker compose up -d
