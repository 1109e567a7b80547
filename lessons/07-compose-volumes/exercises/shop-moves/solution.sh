#!/usr/bin/env bash
set -e
cd ~/shop-2026
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
      - type: volume
        source: assets
        target: /usr/share/nginx/html/assets
        read_only: true
      - type: bind
        source: ./conf.d
        target: /etc/nginx/conf.d
        read_only: true
        bind:
          create_host_path: false

  worker:
    image: busybox
    command: sh -c 'date >> /cache/starts.txt; exec sleep 3600'
    volumes:
      - /cache
      - db:/data

volumes:
  db:
  pages:
  assets:
    external: true
    name: assets-2026-12-01
YAML
docker compose up -d
docker compose exec -T worker cat /data/orders.txt
starts() { for _ in $(seq 1 20); do docker compose exec -T worker cat /cache/starts.txt 2>/dev/null && return; sleep 0.5; done; }
starts
docker compose up -d --force-recreate worker
starts # two lines: the recreated worker kept the anonymous volume
docker compose up -d --force-recreate -V worker
starts # one line: a fresh anonymous volume
