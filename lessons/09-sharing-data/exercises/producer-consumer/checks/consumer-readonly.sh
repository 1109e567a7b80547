#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' consumer 2>/dev/null) || { echo "There is no container named consumer yet."; exit 1; }
m=$(jq -c '.[] | select(.Destination=="/in")' <<<"$mounts")
[ "$(jq -r .Name <<<"$m")" = feed ] || { echo "consumer does not mount the volume feed at /in."; exit 1; }
[ "$(jq -r .RW <<<"$m")" = false ] || { echo "consumer mounts feed read-write: recreate it with -v feed:/in:ro."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' consumer)" = true ] || { echo "consumer is not running: tail -f /in/log.txt keeps it going (docker logs consumer says what happened)."; exit 1; }
