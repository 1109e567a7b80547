#!/usr/bin/env bash
# fails: guestbook-persistent
# Recreates guestbook with the volume but a different command: it no longer signs the book.
set -e
cd ~
docker cp guestbook:/srv/guestbook/. ~/rescue
docker volume create guestbook-data
docker run --rm -v guestbook-data:/data -v ~/rescue:/rescue busybox cp -a /rescue/. /data/
docker rm -f guestbook
docker run -d --name guestbook -v guestbook-data:/srv/guestbook busybox sleep 3600
