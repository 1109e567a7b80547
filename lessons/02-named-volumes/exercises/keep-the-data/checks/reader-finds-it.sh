#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' reader 2>/dev/null) || { echo "There is no container named reader yet."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' reader)" = true ] || { echo "reader exists but is not running: give it a long-running command such as sleep 3600."; exit 1; }
jq -e '.[] | select(.Type=="volume" and .Name=="app-data" and .Destination=="/data")' <<<"$mounts" >/dev/null || { echo "reader is running, but app-data is not mounted at /data in it (docker inspect reader shows its Mounts)."; exit 1; }
docker exec reader test -s /data/greeting.txt 2>/dev/null || { echo "reader mounts app-data at /data, but /data/greeting.txt is not there: write it with the writer container first."; exit 1; }
# -v and --mount end up in different fields: the task is to write the long form once.
docker inspect --format '{{json .HostConfig.Mounts}}' reader | jq -e '.[]? | select(.Target=="/data" and .Source=="app-data")' >/dev/null || { echo "reader mounts app-data with -v: this task is about the long form, --mount type=volume,source=app-data,target=/data. Remove reader and run it again that way."; exit 1; }
