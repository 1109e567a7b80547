#!/usr/bin/env bash
# fails: web-serves-site
# Mounts the site read-write.
set -e
mkdir -p ~/site
echo '<h1>Hello</h1>' > ~/site/index.html
docker run -d --name web -v "$HOME/site":/usr/share/nginx/html nginx
