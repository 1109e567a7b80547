#!/usr/bin/env bash
# fails: live-edit
# Writes about.html first and (re)starts web afterwards: no live edit at all.
set -e
mkdir -p ~/site
echo '<h1>Hello</h1>' > ~/site/index.html
echo '<p>About me</p>' > ~/site/about.html
sleep 1.1
docker run -d --name web -v "$HOME/site":/usr/share/nginx/html:ro nginx
for _ in $(seq 1 20); do curl -fsS http://web/about.html 2>/dev/null && break; sleep 0.3; done
