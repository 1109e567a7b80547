#!/usr/bin/env bash
docker inspect cache >/dev/null 2>&1 || { echo "The container cache is gone; it should have been kept. Restart the exercise to get it back."; exit 1; }
stray=$(docker volume ls -q --filter dangling=true | grep -E -x '[0-9a-f]{64}' | head -n 1)
[ -z "$stray" ] || { echo "The anonymous volume ${stray:0:12}... is still there and no container uses it: remove it with docker volume rm."; exit 1; }
