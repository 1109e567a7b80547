#!/usr/bin/env bash
set -e
mkdir -p ~/site
echo '<h1>Hello from my home folder</h1>' > ~/site/index.html
docker rm -f web >/dev/null 2>&1 || true
docker run -d --name web -v "$HOME/site":/usr/share/nginx/html:ro nginx
echo '<p>About me</p>' > ~/site/about.html
for _ in $(seq 1 20); do curl -fsS http://web/about.html 2>/dev/null && break; sleep 0.3; done || true
