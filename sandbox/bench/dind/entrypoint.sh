#!/bin/sh
# Prepares a non-privileged container (every capability but SYS_RESOURCE, seccomp unconfined,
# host user namespace) to run an engine, as docker:dind's `dind` script does for --privileged.
set -e
# /sys/fs/cgroup is mounted read-only without --privileged; the inner engine makes cgroups.
if ! touch /sys/fs/cgroup/.rw-test 2>/dev/null && [ -d /sys/fs/cgroup ]; then
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  for d in /sys/fs/cgroup/*; do
    [ -d "$d" ] && mount -o remount,rw "$d" 2>/dev/null || true
  done
fi
rm -f /sys/fs/cgroup/.rw-test 2>/dev/null || true
# Inner containers' mounts must propagate like on a host.
mount --make-rshared / 2>/dev/null || true
# /sys is read-only too (securityfs, /sys/kernel): remount what the engine writes.
mount -o remount,rw /sys 2>/dev/null || true
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid 2>/dev/null || true
exec "$@"
