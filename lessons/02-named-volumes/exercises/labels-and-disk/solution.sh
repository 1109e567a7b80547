#!/usr/bin/env bash
set -e
docker volume create --label app=blog blog-cache
docker volume ls --filter label=app=blog
docker volume rm $(docker volume ls -q --filter label=temp=true)
docker system df -v
echo shop-db > ~/biggest.txt
