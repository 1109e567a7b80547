#!/usr/bin/env bash
set -e
mkdir -p ~/notes-stack
cat > ~/notes-stack/docker-compose.yml <<'YAML'
services:
  app:
    image: stowage/notes

  web:
    image: nginx
YAML
cat > ~/notes-stack/default.conf <<'CONF'
server {
    listen 80;
    add_header X-Config "from notes-stack/default.conf";
    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
CONF
docker volume create shared-assets >/dev/null
docker run --rm -v shared-assets:/a busybox sh -c 'echo "<h1>Shared assets</h1>" > /a/index.html'
