#!/usr/bin/env bash
# fails: consumer-readonly
# Mounts the feed read-write in the consumer.
set -e
docker run -d --name producer -v feed:/out busybox sh -c 'while true; do date >> /out/log.txt; sleep 2; done'
docker run -d --name consumer -v feed:/in busybox tail -f /in/log.txt
