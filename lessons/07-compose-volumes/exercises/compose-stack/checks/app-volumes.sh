#!/usr/bin/env bash
id=$(docker ps -aq --filter label=com.docker.compose.project=notes-stack --filter label=com.docker.compose.service=app | head -n1)
[ -n "$id" ] || { echo "There is no container for the service app of the project notes-stack: run docker compose up -d inside ~/notes-stack."; exit 1; }
mounts=$(docker inspect --format '{{json .Mounts}}' "$id")
for pair in db:/data uploads:/app/uploads; do
  v=notes-stack_${pair%%:*}; d=${pair#*:}
  jq -e --arg v "$v" --arg d "$d" '.[] | select(.Type=="volume" and .Name==$v and .Destination==$d)' <<<"$mounts" >/dev/null || { echo "The app container has no volume $v at $d: add - ${pair} under app's volumes (and ${pair%%:*}: at the top level), then docker compose up -d."; exit 1; }
done
[ "$(docker inspect --format '{{.State.Running}}' "$id")" = true ] || { echo "The app container has its volumes but is not running: docker compose logs app tells you why."; exit 1; }
