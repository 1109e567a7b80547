#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' producer 2>/dev/null) || { echo "There is no container named producer yet."; exit 1; }
jq -e '.[] | select(.Type=="volume" and .Name=="feed" and .Destination=="/out" and .RW)' <<<"$mounts" >/dev/null || { echo "producer does not have the volume feed mounted read-write at /out."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' producer)" = true ] || { echo "producer is not running: its command must loop forever (while true; do ...; sleep 2; done)."; exit 1; }
mtime=$(docker exec producer stat -c %Y /out/log.txt 2>/dev/null) || { echo "producer is running, but there is no /out/log.txt yet."; exit 1; }
now=$(docker exec producer date +%s)
[ $((now - mtime)) -le 10 ] || { echo "/out/log.txt has not been written for $((now - mtime)) seconds: producer should append to it every 2 seconds."; exit 1; }
# Still writing: the file must grow within a few seconds (a one-off write does not count).
before=$(docker exec producer sh -c 'wc -l < /out/log.txt' 2>/dev/null)
sleep 2.5
after=$(docker exec producer sh -c 'wc -l < /out/log.txt' 2>/dev/null)
[ "${after:-0}" -gt "${before:-0}" ] 2>/dev/null || { echo "/out/log.txt did not grow in 2.5 seconds: producer must keep appending to it (while true; do date >> /out/log.txt; sleep 2; done)."; exit 1; }
