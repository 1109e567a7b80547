#!/usr/bin/env bash
set -e
docker run -d --name front \
  --mount type=volume,source=site-data,target=/usr/share/nginx/html,volume-subpath=public,readonly \
  nginx
docker exec front ls /usr/share/nginx/html
