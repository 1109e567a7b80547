#!/usr/bin/env bash
[ -f ~/biggest.txt ] || { echo "There is no ~/biggest.txt yet."; exit 1; }
name=$(tr -d ' \n' < ~/biggest.txt)
[ "$name" = shop-db ] || { echo "~/biggest.txt says '$name', but that is not the biggest volume: read the SIZE column of docker system df -v."; exit 1; }
