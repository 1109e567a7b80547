#!/usr/bin/env bash
from=$(docker inspect --format '{{json .HostConfig.VolumesFrom}}' auditor 2>/dev/null) || { echo "There is no container named auditor yet."; exit 1; }
[ "$from" != null ] && [ "$from" != "[]" ] || { echo "auditor was not created with --volumes-from: remove it and run it with --volumes-from producer:ro."; exit 1; }
m=$(docker inspect --format '{{json .Mounts}}' auditor | jq -c '.[] | select(.Destination=="/out")')
[ "$(jq -r .Name <<<"$m")" = feed ] || { echo "auditor does not see the volume feed at /out: take the volumes from producer."; exit 1; }
[ "$(jq -r .RW <<<"$m")" = false ] || { echo "auditor got producer's volumes read-write: use --volumes-from producer:ro."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' auditor)" = true ] || { echo "auditor is not running: give it a long-running command such as sleep 3600."; exit 1; }
