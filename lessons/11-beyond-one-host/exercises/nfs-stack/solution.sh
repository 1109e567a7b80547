#!/usr/bin/env bash
set -e
mkdir -p ~/nfs-stack && cd ~/nfs-stack
cat > compose.yaml <<'YAML'
services:
  app:
    image: busybox
    command: sleep 3600
    volumes:
      - app-data:/data
volumes:
  app-data:
    driver: local
    driver_opts:
      type: nfs
      o: addr=10.0.0.5,rw,nfsvers=4
      device: ":/exports/app-data"
YAML
docker compose config
cat > README.md <<'MD'
# nfs-stack

| volume | mounted at | holds | backup |
|---|---|---|---|
| `app-data` | `/data` in `app` | the app's files, on the NFS server 10.0.0.5 | nightly `tar czf` of the export, dated, last 7 kept |
MD
