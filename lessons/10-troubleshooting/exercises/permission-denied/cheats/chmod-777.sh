#!/usr/bin/env bash
# fails: owner-fixed
# Opens the volume to everyone instead of giving it to uid 999.
set -e
docker run --rm -v ledger-data:/data busybox chmod -R 777 /data
