#!/usr/bin/env bash
id=$(docker ps -aq --filter label=com.docker.compose.project=notes-stack --filter label=com.docker.compose.service=web | head -n1)
[ -n "$id" ] || { echo "There is no container for the service web of the project notes-stack: run docker compose up -d inside ~/notes-stack."; exit 1; }
m=$(docker inspect --format '{{json .Mounts}}' "$id" | jq -c '.[] | select(.Destination=="/etc/nginx/conf.d/default.conf")')
[ -n "$m" ] || { echo "web has nothing mounted at /etc/nginx/conf.d/default.conf: add - ./default.conf:/etc/nginx/conf.d/default.conf:ro."; exit 1; }
[ "$(jq -r .Type <<<"$m")" = bind ] || { echo "web mounts a volume at /etc/nginx/conf.d/default.conf: start the source with ./ so it is the project's file."; exit 1; }
[[ "$(jq -r .Source <<<"$m")" == */notes-stack/default.conf ]] || { echo "web mounts $(jq -r .Source <<<"$m") as its config, not the project's default.conf."; exit 1; }
[ "$(jq -r .RW <<<"$m")" = false ] || { echo "web mounts default.conf read-write: add :ro."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' "$id")" = true ] || { echo "web has the config but is not running: docker compose logs web tells you why."; exit 1; }
