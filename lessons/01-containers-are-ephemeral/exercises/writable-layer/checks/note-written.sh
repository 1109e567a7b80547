#!/usr/bin/env bash
state=$(docker inspect --format '{{.State.Running}}' keeper 2>/dev/null) || { echo "There is no container named keeper yet: start one with docker run -d --name keeper debian:bookworm-slim sleep infinity."; exit 1; }
[ "$state" = true ] || { echo "The container keeper exists but is not running: start it with docker start keeper."; exit 1; }
content=$(docker exec keeper cat /data/note.txt 2>/dev/null) || { echo "keeper is running, but there is no /data/note.txt inside it yet."; exit 1; }
grep -q "remember me" <<<"$content" || { echo "/data/note.txt exists in keeper, but it does not contain the text: remember me."; exit 1; }
[ "$(docker inspect --format '{{len .Mounts}}' keeper)" = 0 ] || { echo "keeper has a mount at $(docker inspect --format '{{range .Mounts}}{{.Destination}} {{end}}' keeper): this task is about the writable layer, so run keeper without -v."; exit 1; }
