#!/usr/bin/env bash
# fails: front-public
# Copies public/ into a volume of its own: front serves a copy that goes stale.
set -e
docker run --rm -v site-data:/from -v front-copy:/to busybox cp -a /from/public/. /to/
docker run -d --name front --mount type=volume,source=front-copy,target=/usr/share/nginx/html,readonly nginx
