#!/usr/bin/env bash
set -e
cd ~
docker export -o ~/diary.tar diary
tar tf ~/diary.tar | grep -e diary-version -e today || true
docker run --rm -v diary-pages:/data -v "$(pwd)":/backup busybox tar czf /backup/diary-pages.tgz -C /data .
tar tzf ~/diary-pages.tgz
