#!/usr/bin/env bash
# fails: locked-down
# A tmpfs at /tmp, but the root filesystem stays writable.
set -e
docker run -d --name locked --tmpfs /tmp busybox sleep 3600
