#!/usr/bin/env bash
set -e
docker volume create app-data >/dev/null
docker run --rm -v app-data:/data busybox sh -c '
  mkdir -p /data/config /data/uploads
  echo "Buy milk. Call the plumber. Back up the volume." > /data/notes.txt
  printf "[app]\ntheme = dark\n" > /data/config/settings.ini
  chmod 600 /data/config/settings.ini
  head -c 65536 /dev/urandom > /data/uploads/photo-001.bin
  echo "hidden" > /data/.version
  chown -R 1000:1000 /data/uploads'
