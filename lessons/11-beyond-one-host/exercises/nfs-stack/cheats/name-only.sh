#!/usr/bin/env bash
# fails: readme-documents
# A README that only names the volume.
set -e
mkdir -p ~/nfs-stack && echo "Uses the volume app-data." > ~/nfs-stack/README.md
