#!/usr/bin/env bash
# fails: front-public
# Mounts the whole volume: private/customers.csv is served too.
set -e
docker run -d --name front -v site-data:/usr/share/nginx/html:ro nginx
