#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' journal 2>/dev/null) || { echo "There is no container named journal right now: run it again with -v journal-data:/data."; exit 1; }
if ! jq -e '.[] | select(.Type=="volume" and .Name=="journal-data" and .Destination=="/data")' <<<"$mounts" >/dev/null; then
  d=$(jq -r '.[] | select(.Name=="journal-data") | .Destination' <<<"$mounts")
  if [ -n "$d" ]; then echo "journal mounts journal-data at $d, but it writes to /data/journal.txt: recreate it with -v journal-data:/data."; else echo "journal does not mount journal-data at all: recreate it with -v journal-data:/data."; fi
  exit 1
fi
[ "$(docker inspect --format '{{.State.Running}}' journal)" = true ] || { echo "journal is mounted right but not running: reuse its original command (docker logs journal shows what went wrong)."; exit 1; }
docker run --rm -v journal-data:/v busybox test -s /v/journal.txt 2>/dev/null || { echo "journal-data is mounted at /data, but journal.txt has not appeared in it yet: is journal running its original command?"; exit 1; }
