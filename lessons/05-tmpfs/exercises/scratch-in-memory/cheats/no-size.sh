#!/usr/bin/env bash
# fails: cruncher-tmpfs
# A tmpfs with no size limit.
set -e
docker run -d --name cruncher --tmpfs /scratch busybox sleep 3600
