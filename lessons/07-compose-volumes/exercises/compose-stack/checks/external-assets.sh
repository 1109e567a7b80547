#!/usr/bin/env bash
id=$(docker ps -aq --filter label=com.docker.compose.project=notes-stack --filter label=com.docker.compose.service=web | head -n1)
[ -n "$id" ] || { echo "There is no container for the service web of the project notes-stack: run docker compose up -d inside ~/notes-stack."; exit 1; }
m=$(docker inspect --format '{{json .Mounts}}' "$id" | jq -c '.[] | select(.Destination=="/usr/share/nginx/html")')
[ -n "$m" ] || { echo "web has nothing mounted at /usr/share/nginx/html yet."; exit 1; }
name=$(jq -r .Name <<<"$m")
[ "$name" = shared-assets ] || { echo "web mounts the volume $name, not shared-assets: declare shared-assets with external: true so compose uses it without the notes-stack_ prefix."; exit 1; }
[ "$(jq -r .RW <<<"$m")" = false ] || { echo "web mounts shared-assets read-write: add :ro."; exit 1; }
