#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' producer 2>/dev/null) || { echo "There is no container named producer yet."; exit 1; }
jq -e '.[] | select(.Type=="volume" and .Name=="feed" and .Destination=="/out" and .RW)' <<<"$mounts" >/dev/null || { echo "producer does not have the volume feed mounted read-write at /out."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' producer)" = true ] || { echo "producer is not running: its command must loop forever (while true; do ...; sleep 2; done)."; exit 1; }
# One exec: the file exists, and it grows within 2.5 s (a one-off write does not count).
out=$(docker exec producer sh -c '[ -f /out/log.txt ] || { echo missing; exit 0; }; a=$(wc -l < /out/log.txt); sleep 2.5; b=$(wc -l < /out/log.txt); echo "$a $b"' 2>/dev/null)
[ "$out" != missing ] && [ -n "$out" ] || { echo "producer is running, but there is no /out/log.txt yet."; exit 1; }
read -r before after <<<"$out"
[ "$after" -gt "$before" ] 2>/dev/null || { echo "/out/log.txt did not grow in 2.5 seconds: producer must keep appending to it (while true; do date >> /out/log.txt; sleep 2; done)."; exit 1; }
