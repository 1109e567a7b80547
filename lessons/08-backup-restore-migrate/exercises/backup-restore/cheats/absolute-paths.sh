#!/usr/bin/env bash
# fails: archive-made
# Archives /data itself, so every path in the archive starts with data/.
set -e
cd ~
docker run --rm -v app-data:/data -v "$(pwd)":/backup busybox tar czf /backup/app-data.tgz /data
