#!/usr/bin/env bash
# fails: front-public
# Mounts the public folder, but read-write: the web server could change the shop's files.
set -e
docker run -d --name front --mount type=volume,source=site-data,target=/usr/share/nginx/html,volume-subpath=public nginx
