#!/usr/bin/env bash
# fails: cruncher-tmpfs
# An anonymous volume at /scratch: on disk, not in memory.
set -e
docker run -d --name cruncher -v /scratch busybox sleep 3600
