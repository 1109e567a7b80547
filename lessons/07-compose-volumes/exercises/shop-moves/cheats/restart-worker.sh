#!/usr/bin/env bash
# fails: anon-kept
# Restarts worker instead of recreating it: starts.txt gets a second line, from the same container.
set -e
cd ~/shop-2026
sed -i '1i name: shop' compose.yaml
docker compose up -d worker
docker compose restart worker
