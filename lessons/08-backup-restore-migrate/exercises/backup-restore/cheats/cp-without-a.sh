#!/usr/bin/env bash
# fails: copied
# Copies with cp -r: owners and modes are lost.
set -e
docker volume create app-data-copy
docker run --rm -v app-data:/from -v app-data-copy:/to busybox cp -r /from/. /to/
