#!/usr/bin/env bash
set -e
cd ~
cmd=$(docker inspect --format '{{index .Config.Cmd 2}}' guestbook)
rm -rf ~/rescue
docker cp guestbook:/srv/guestbook/. ~/rescue
docker volume create guestbook-data
docker run --rm -v guestbook-data:/data -v ~/rescue:/rescue busybox cp -a /rescue/. /data/
docker rm -f guestbook
docker run -d --name guestbook -v guestbook-data:/srv/guestbook busybox sh -c "$cmd"
