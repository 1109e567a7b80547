#!/usr/bin/env bash
# fails: volume-populated
# Writes a page into html-vol by hand before nginx ever mounts it.
set -e
docker run --rm -v html-vol:/v busybox sh -c 'echo "<h1>my page</h1>" > /v/index.html; echo x > /v/50x.html'
docker run -d --name web-vol -v html-vol:/usr/share/nginx/html nginx
