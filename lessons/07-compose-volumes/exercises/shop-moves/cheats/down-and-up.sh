#!/usr/bin/env bash
# fails: anon-renewed
# Takes the project down and up again to get a fresh anonymous volume: the old one is left behind, dangling.
set -e
cd ~/shop-2026
sed -i '1i name: shop' compose.yaml
docker compose up -d worker
docker compose down
docker compose up -d worker
