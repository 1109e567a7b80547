#!/usr/bin/env bash
set -e
cd ~
docker run --rm -v app-data:/data -v "$(pwd)":/backup busybox tar czf /backup/app-data.tgz -C /data .
tar tzvf app-data.tgz
docker volume create app-data-restored
docker run --rm -v app-data-restored:/data -v "$(pwd)":/backup busybox tar xzf /backup/app-data.tgz -C /data
docker volume create app-data-copy
docker run --rm -v app-data:/from -v app-data-copy:/to busybox cp -a /from/. /to/
