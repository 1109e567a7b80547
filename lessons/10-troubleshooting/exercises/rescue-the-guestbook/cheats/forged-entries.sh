#!/usr/bin/env bash
# fails: entries-rescued
# Writes a look-alike entries.txt instead of rescuing the real one.
set -e
docker volume create guestbook-data
docker run --rm -v guestbook-data:/data busybox sh -c 'mkdir -p /data/photos; echo "Ada Lovelace" > /data/entries.txt; echo x > /data/photos/party.txt'
