#!/usr/bin/env bash
set -e
docker volume create --label app=blog blog-db >/dev/null
docker volume create --label app=blog blog-uploads >/dev/null
docker volume create --label app=shop shop-db >/dev/null
docker volume create --label temp=true scratch-1 >/dev/null
docker volume create --label temp=true scratch-2 >/dev/null
docker run --rm -v blog-db:/a -v blog-uploads:/b -v shop-db:/c -v scratch-1:/d busybox sh -c '
  echo posts > /a/posts.txt; head -c 200000 /dev/zero > /b/photo.bin
  head -c 3000000 /dev/zero > /c/orders.db; echo tmp > /d/tmp.txt'
