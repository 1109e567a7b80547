#!/usr/bin/env bash
# fails: volume-nocopy
# Mounts the volume without volume-nocopy and deletes the copied files afterwards.
set -e
docker run -d --name web-nocopy -v html-nocopy:/usr/share/nginx/html nginx
docker exec web-nocopy sh -c 'rm -f /usr/share/nginx/html/*'
