#!/usr/bin/env bash
# fails: nfs-volume-defined
# Has every word in it, but Compose cannot read it (a tab and a wrong nesting).
set -e
mkdir -p ~/nfs-stack
printf 'services:\n  app:\n    image: busybox\n    volumes: app-data:/data\nvolumes:\n  app-data:\n    driver: local\n    driver_opts: "type: nfs o: addr=10.0.0.5 device: :/exports/app-data"\n' > ~/nfs-stack/compose.yaml
