#!/usr/bin/env bash
docker inspect locked >/dev/null 2>&1 || { echo "There is no container named locked yet."; exit 1; }
[ "$(docker inspect --format '{{.HostConfig.ReadonlyRootfs}}' locked)" = true ] || { echo "locked's root filesystem is writable: recreate it with --read-only."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' locked)" = true ] || { echo "locked exists but is not running: give it a long-running command such as sleep 3600."; exit 1; }
fstype=$(docker exec locked awk '$2=="/tmp" {print $3}' /proc/mounts 2>/dev/null)
[ "$fstype" = tmpfs ] || { echo "locked is read-only, but has no tmpfs at /tmp, so it cannot write anywhere: add --tmpfs /tmp."; exit 1; }
