#!/usr/bin/env bash
# fails: restored
# Fills app-data-restored by copying app-data, never touching the archive.
set -e
docker volume create app-data-restored
docker run --rm -v app-data:/from -v app-data-restored:/to busybox cp -a /from/. /to/
