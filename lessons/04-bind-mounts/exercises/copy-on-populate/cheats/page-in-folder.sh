#!/usr/bin/env bash
# fails: bind-hides
# Puts a page into the folder, so the bind mount no longer shows what emptiness does.
set -e
mkdir -p ~/empty-html && echo '<h1>hi</h1>' > ~/empty-html/index.html
docker run -d --name web-bind -v "$HOME/empty-html":/usr/share/nginx/html nginx
for _ in $(seq 1 20); do curl -fsS http://web-bind/ 2>/dev/null && break; sleep 0.3; done
