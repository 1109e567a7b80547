#!/usr/bin/env bash
docker inspect cruncher >/dev/null 2>&1 || { echo "There is no container named cruncher yet."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' cruncher)" = true ] || { echo "cruncher exists but is not running: give it a long-running command such as sleep 3600."; exit 1; }
line=$(docker exec cruncher awk '$2=="/scratch"' /proc/mounts 2>/dev/null)
[ -n "$line" ] || { echo "cruncher has nothing mounted at /scratch: add --tmpfs /scratch:size=16m."; exit 1; }
read -r _ _ fstype opts _ <<<"$line"
[ "$fstype" = tmpfs ] || { echo "cruncher mounts a $fstype filesystem at /scratch, not a tmpfs: that is disk, not memory."; exit 1; }
grep -q 'size=' <<<"$opts" || { echo "cruncher has a tmpfs at /scratch, but without a size limit: add size=16m."; exit 1; }
kb=$(sed -n 's/.*size=\([0-9]*\)k.*/\1/p' <<<"$opts")
[ -n "$kb" ] && [ "$kb" -le 16384 ] || { echo "cruncher's tmpfs at /scratch is larger than 16 MB ($(grep -o 'size=[^,]*' <<<"$opts")): use size=16m."; exit 1; }
