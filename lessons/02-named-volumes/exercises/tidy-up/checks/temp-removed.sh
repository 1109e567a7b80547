#!/usr/bin/env bash
docker volume inspect reports >/dev/null 2>&1 || { echo "The named volume reports is gone, and q3.txt with it: docker rm -v never removes named volumes, so it was removed with docker volume rm or prune. Restart the exercise to get it back."; exit 1; }
if docker inspect temp >/dev/null 2>&1; then echo "The container temp still exists: remove it with docker rm -f -v temp."; exit 1; fi
# Anonymous volumes have 64-hex-digit names; one still unused means temp's /scratch volume was left behind.
for v in $(docker volume ls -q --filter dangling=true); do
  if [[ "$v" =~ ^[0-9a-f]{64}$ ]] && docker run --rm -v "$v":/v busybox test -f /v/junk 2>/dev/null; then
    echo "temp is gone, but its anonymous volume $v was left behind: next time use docker rm -v; now remove it with docker volume rm $v."; exit 1
  fi
done
docker run --rm -v reports:/r busybox test -f /r/q3.txt 2>/dev/null || { echo "The volume reports still exists, but q3.txt is no longer in it."; exit 1; }
