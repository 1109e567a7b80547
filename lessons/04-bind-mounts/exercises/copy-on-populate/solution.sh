#!/usr/bin/env bash
set -e
docker run -d --name web-vol -v html-vol:/usr/share/nginx/html nginx
docker run --rm -v html-vol:/v busybox ls -ln /v
mkdir -p ~/empty-html
docker run -d --name web-bind -v "$HOME/empty-html":/usr/share/nginx/html nginx
for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code}\n' http://web-bind/ 2>/dev/null && break; sleep 0.3; done
docker run -d --name web-nocopy --mount type=volume,source=html-nocopy,target=/usr/share/nginx/html,volume-nocopy nginx
docker run --rm -v html-nocopy:/v busybox ls -la /v
