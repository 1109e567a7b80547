#!/usr/bin/env bash
set -e
# The shop's volume: the public site, and beside it files no web server may show.
docker volume create site-data >/dev/null
docker run --rm -v site-data:/v busybox sh -c '
  mkdir -p /v/public /v/private
  echo "<h1>The shop</h1>" > /v/public/index.html
  echo "h1 { color: teal }" > /v/public/style.css
  printf "name,email\nAna,ana@example.com\n" > /v/private/customers.csv'
