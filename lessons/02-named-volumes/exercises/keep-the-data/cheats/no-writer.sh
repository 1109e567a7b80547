#!/usr/bin/env bash
# fails: writer-gone
# Puts the greeting into the volume with a nameless --rm container: there never was a writer to remove.
set -e
docker volume create app-data
docker run --rm -v app-data:/data busybox sh -c 'echo hello > /data/greeting.txt'
