#!/usr/bin/env bash
# A guestbook that keeps its entries only in its writable layer.
set -e
docker rm -f guestbook >/dev/null 2>&1 || true
docker run -d --name guestbook busybox \
  sh -c 'mkdir -p /srv/guestbook; while true; do echo "$(date) a visitor signed" >> /srv/guestbook/entries.txt; sleep 5; done' >/dev/null
docker exec guestbook sh -c 'mkdir -p /srv/guestbook/photos; printf "%s\n" "Ada Lovelace: lovely volumes!" "Grace Hopper: found a bug, fixed it" >> /srv/guestbook/entries.txt; echo "(a picture)" > /srv/guestbook/photos/party.txt'
