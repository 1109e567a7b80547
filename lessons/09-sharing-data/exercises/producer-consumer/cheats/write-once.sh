#!/usr/bin/env bash
# fails: producer-writing
# A producer that writes its file once and then only sleeps.
set -e
docker run -d --name producer -v feed:/out busybox sh -c 'date >> /out/log.txt; date >> /out/log.txt; exec sleep 3600'
sleep 0.5
