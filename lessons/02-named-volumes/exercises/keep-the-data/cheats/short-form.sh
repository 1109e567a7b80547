#!/usr/bin/env bash
# fails: reader-finds-it
# Mounts with -v where the task asks for --mount.
set -e
docker volume create app-data
docker run --name writer -v app-data:/data busybox sh -c 'echo hello > /data/greeting.txt'
docker rm writer
docker run -d --name reader -v app-data:/data busybox sleep 3600
