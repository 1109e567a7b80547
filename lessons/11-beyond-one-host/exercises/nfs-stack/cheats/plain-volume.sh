#!/usr/bin/env bash
# fails: nfs-volume-defined
# Declares app-data as an ordinary local volume, without the NFS options.
set -e
mkdir -p ~/nfs-stack
printf 'services:\n  app:\n    image: busybox\n    volumes:\n      - app-data:/data\nvolumes:\n  app-data: {}\n' > ~/nfs-stack/compose.yaml
