#!/usr/bin/env bash
set -e
mkdir -p ~/shop-2026/conf.d
cat > ~/shop-2026/compose.yaml <<'YAML'
# The shop project, moved here from ~/shop (where compose named it "shop").
services:
  web:
    image: nginx

  worker:
    image: busybox
    # Adds the time of every start to a file in its anonymous volume at /cache.
    command: sh -c 'date >> /cache/starts.txt; exec sleep 3600'
    volumes:
      - /cache
      - db:/data

volumes:
  db:
YAML
cat > ~/shop-2026/conf.d/default.conf <<'CONF'
server {
    listen 80;
    add_header X-Config "from shop-2026/conf.d";
    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
CONF
# What the project left behind in ~/shop: its volume, made and labelled by compose as project "shop".
docker volume create --label com.docker.compose.project=shop --label com.docker.compose.volume=db \
  --label com.docker.compose.version=2.26.1 shop_db >/dev/null
# The shop's assets, restored from a backup under a dated name.
docker volume create assets-2026-12-01 >/dev/null
docker run --rm -v shop_db:/db -v assets-2026-12-01:/assets busybox \
  sh -c 'echo "order 1: three mugs" > /db/orders.txt; echo "body { font-family: sans-serif }" > /assets/shop.css'
