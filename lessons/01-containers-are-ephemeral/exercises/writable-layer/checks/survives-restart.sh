#!/usr/bin/env bash
state=$(docker inspect --format '{{.State.Running}} {{.State.StartedAt}}' keeper 2>/dev/null) || { echo "There is no container named keeper: do the first task first."; exit 1; }
read -r running started <<<"$state"
[ "$running" = true ] || { echo "keeper is stopped: start it again with docker start keeper."; exit 1; }
written=$(docker exec keeper stat -c %Y /data/note.txt 2>/dev/null) || { echo "keeper has no /data/note.txt: write the note before you restart it."; exit 1; }
started_s=$(date -d "$started" +%s 2>/dev/null) || { echo "Could not read when keeper was last started; try docker start keeper again."; exit 1; }
[ "$started_s" -gt "$written" ] || { echo "keeper has not been started since the note was written: run docker stop -t 1 keeper, then docker start keeper."; exit 1; }
