#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' notes 2>/dev/null) || { echo "There is no container named notes yet."; exit 1; }
for pair in notes-db:/data notes-uploads:/app/uploads; do
  v=${pair%%:*}; d=${pair#*:}
  jq -e --arg v "$v" --arg d "$d" '.[] | select(.Type=="volume" and .Name==$v and .Destination==$d)' <<<"$mounts" >/dev/null || { echo "notes does not have the volume $v mounted at $d: recreate it with -v $v:$d."; exit 1; }
done
[ "$(docker inspect --format '{{.State.Running}}' notes)" = true ] || { echo "notes has the right volumes but is not running: docker logs notes tells you why."; exit 1; }
