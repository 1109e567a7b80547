#!/usr/bin/env bash
docker volume inspect blog-cache >/dev/null 2>&1 || { echo "There is no volume named blog-cache yet."; exit 1; }
[ "$(docker volume inspect --format '{{index .Labels "app"}}' blog-cache)" = blog ] || { echo "blog-cache has no label app=blog: labels are set when a volume is created, so remove it and create it again with --label app=blog."; exit 1; }
