#!/usr/bin/env bash
# fails: copied
# Fills app-data-copy from an archive, when the task is a direct volume-to-volume copy.
set -e
cd ~
docker run --rm -v app-data:/data -v "$(pwd)":/backup busybox tar czf /backup/app-data.tgz -C /data .
docker volume create app-data-copy
docker run --rm -v app-data-copy:/data -v "$(pwd)":/backup busybox tar xzf /backup/app-data.tgz -C /data
