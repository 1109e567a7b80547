#!/usr/bin/env bash
# fails: cache-volume-named
# Writes the first unused volume's name without asking cache which one it mounts.
set -e
docker volume ls -q --filter dangling=true | head -n 1 > ~/cache-volume.txt
