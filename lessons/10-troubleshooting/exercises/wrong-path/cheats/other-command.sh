#!/usr/bin/env bash
# fails: journal-fixed
# Runs a new journal that writes the file once with a command of its own.
set -e
docker rm -f journal
docker run -d --name journal -v journal-data:/data busybox sh -c 'echo "all quiet" > /data/journal.txt; exec sleep 3600'
