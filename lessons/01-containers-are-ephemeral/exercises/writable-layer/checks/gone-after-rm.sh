#!/usr/bin/env bash
state=$(docker inspect --format '{{.State.Running}} {{.Config.Image}}' doomed 2>/dev/null) || { echo "There is no container named doomed right now: after removing it, run a new one with docker run -d --name doomed debian:bookworm-slim sleep infinity."; exit 1; }
read -r running image <<<"$state"
[ "$running" = true ] || { echo "doomed exists but is not running: start it (or remove it and run a new one)."; exit 1; }
if docker exec doomed test -e /data/important.txt 2>/dev/null; then
  echo "doomed still has /data/important.txt: it is still the old container. Remove it with docker rm -f doomed and run a new one."
  exit 1
fi
