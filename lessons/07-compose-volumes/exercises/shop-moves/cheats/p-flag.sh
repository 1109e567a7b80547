#!/usr/bin/env bash
# fails: project-name
# Names the project with -p on the command line instead of name: in the file: the next compose command without -p works on shop-2026.
set -e
cd ~/shop-2026
docker compose -p shop up -d
