#!/usr/bin/env bash
# A second, private Docker engine beside the one at /var/run/docker.sock, for running the tests
# against Engine 26 (or Debian 12's Engine 20.10) on a machine whose default engine is another,
# or shared:
#   scripts/test-engine.sh 26 start   # prints the DOCKER_HOST and STOWAGE_SESSION_SUBNETS to use
#   scripts/test-engine.sh 20 start   # the same with Engine 20.10, unpacked from Debian 12's packages
#   scripts/test-engine.sh 26 stop
#   scripts/test-engine.sh 20 images  # copies the course images from the default engine into it
#   scripts/test-engine.sh 20 run tests/attacks/   # start it, copy the course images in, run
#                                    # vitest on those files against it, fail on leftovers, stop it
#                                    # (left running if it was running before)
#   scripts/test-engine.sh 26b start  # a second private Engine 26 beside the first (own name, bridge
#                                     # e26bbr0, pools 10.234-236.x): the multi-engine tests use it
#   scripts/test-engine.sh 26r start  # a third (bridge e26rbr0, pools 10.242-244.x): the remote-home
#                                     # test uses it as a remote engine (remote=1), beside 26b's tests
# It touches nothing of the other engine: own socket, data-root, exec-root, pidfile, containerd,
# config file, address pools and bridge (never `--bridge none`: moby then deletes the host's
# docker0), and --iptables=false, because moby deletes and recreates its DOCKER chains when it
# starts, which would drop the other engine's rules. Instead this script adds its own rules for
# its own bridge and subnets only: NAT for image builds (RUN apt-get) on its default bridge, and
# traffic within each of its bridges; traffic between its networks or out of them stays dropped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ENGINE="${1:-}"
case "$ENGINE" in
  26) N=0 ;;
  26b) N=8; INSTALL=26 ;;
  26r) N=16; INSTALL=26 ;;
  20) N=4; STOWAGE_ENGINE26_SUITE=bookworm; ENGINE26_PACKAGES=(docker.io containerd runc tini) ;;
  *) echo "usage: $0 26|26b|26r|20 start|stop|images|run" >&2; exit 2 ;;
esac
shift
. "$ROOT/scripts/engine26.sh"

DIR="$ROOT/.tools/docker${INSTALL:-$ENGINE}"
STATE="/var/lib/stowage-e$ENGINE"
RUN="/run/stowage-e$ENGINE"
SOCKET="$RUN/docker.sock"
BRIDGE="e${ENGINE}br0"
BRIDGE_CIDR="10.$((227 + N)).0.1/24"
POOL="10.$((228 + N)).0.0/16"
SESSION_SUBNETS="10.$((226 + N)).0.0/16"

# Each rule as iptables arguments after the table/verb: $1 is -C (check), -I (insert) or -D.
nat_rules() {
  local verb="$1" net="${BRIDGE_CIDR%.*}.0/${BRIDGE_CIDR#*/}" ok=0
  iptables -w -t nat "$verb" POSTROUTING -s "$net" ! -o "$BRIDGE" -j MASQUERADE || ok=1
  iptables -w "$verb" FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j ACCEPT || ok=1
  iptables -w "$verb" FORWARD -o "$BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT || ok=1
  # The host bridges packets through iptables (br_netfilter) and the other engine set FORWARD's
  # policy to DROP: let through what stays on one of this engine's bridges (bridged, not routed),
  # as moby's own rules would; traffic between its networks or out of them stays dropped.
  local range
  for range in "$net" "$POOL" "$SESSION_SUBNETS"; do
    iptables -w "$verb" FORWARD -m physdev --physdev-is-bridged -s "$range" -j ACCEPT || ok=1
  done
  return $ok
}

start_engine() {
  engine26_install "$DIR"
  if ! engine26_answers "$DIR" "$SOCKET"; then
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
      ip link add "$BRIDGE" type bridge
      ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
      ip link set "$BRIDGE" up
    fi
    nat_rules -C 2>/dev/null || { nat_rules -D 2>/dev/null || true; nat_rules -I; }
    # On start, moby deletes a "bridge" network left in its data-root and then, when address
    # pools are set and live-restore is off, the interface named docker0: the host's, which is
    # the other engine's (seen 2026-12-02: a restart of this engine took docker0 away and every
    # container start on the default bridge failed). Its stale network store goes first.
    rm -f "$STATE"/data/*/network/files/local-kv.db "$STATE"/data/network/files/local-kv.db
    had_docker0=0
    ip link show docker0 >/dev/null 2>&1 && had_docker0=1
    mkdir -p "$RUN"
    echo '{}' > "$RUN/daemon.json" # not /etc/docker/daemon.json: that one is the other engine's
    engine26_start "$DIR" "$SOCKET" "$STATE" \
      --config-file "$RUN/daemon.json" \
      --data-root "$STATE/data" --exec-root "$RUN/exec" \
      --userns-remap=default --bridge "$BRIDGE" --iptables=false --ip-masq=false \
      --default-address-pool "base=$POOL,size=26"
    if [ "$had_docker0" = 1 ] && ! ip link show docker0 >/dev/null 2>&1; then
      echo "starting Engine $ENGINE removed the host's docker0: restart the default engine" >&2
      exit 1
    fi
  fi
}

stop_engine() {
  engine26_stop "$STATE"
  # Shims a killed daemon left behind (containers it was starting or running when it died, which
  # the daemon started again does not always take back): this engine's only, found by its own
  # containerd address; each one's children first (a container's init: its pid namespace goes
  # with it), then the shim.
  local shim child
  for shim in $(pgrep -f -- "-address $RUN/exec/containerd/containerd.sock" || true); do
    for child in $(pgrep -P "$shim" || true); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$shim" 2>/dev/null || true
  done
  # What a killed daemon (the multi-engine test kills one) leaves mounted: its containers'
  # network namespaces and its data-root's own mount. Only this engine's paths.
  awk -v run="$RUN/" -v state="$STATE/" 'index($2, run) == 1 || index($2, state) == 1 { print $2 }' \
    /proc/mounts | sort -r | while read -r mnt; do umount "$mnt" 2>/dev/null || true; done
  nat_rules -D 2>/dev/null || true
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
}

# `run`: vitest (the files given) against this private engine, from start to stop.
private() { "$DIR/bin/docker" -H "unix://$SOCKET" "$@"; }
# What exists on the private engine: containers, volumes, networks (one id or name a line, sorted).
objects() {
  { private ps -aq --no-trunc | sed 's/^/container /'
    private volume ls -q | sed 's/^/volume /'
    private network ls -q --no-trunc | sed 's/^/network /'; } | sort
}

# The course images, copied from the default engine ($1; read only there) by docker save | load:
# only those whose image id differs. The ids (and the recipe-hash labels) survive the copy, so
# the tests' global setup finds every image up to date and builds nothing.
copy_images() {
  local default_host="$1" t0=$SECONDS
  local refs=() ref
  mapfile -t refs < <(cd "$ROOT" && node --input-type=module -e \
    'import { COURSE_IMAGE_REFS } from "./sandbox/images/catalog.ts"; console.log(COURSE_IMAGE_REFS.join("\n"))')
  [ ${#refs[@]} -gt 0 ] || { echo "no course image references from sandbox/images/catalog.ts" >&2; exit 1; }
  local copy=()
  for ref in "${refs[@]}"; do
    local want; want="$(DOCKER_HOST="$default_host" docker image inspect -f '{{.Id}}' "$ref")" || {
      echo "course image $ref is missing on the default engine ($default_host): run node sandbox/images/build.ts" >&2
      exit 1
    }
    [ "$(private image inspect -f '{{.Id}}' "$ref" 2>/dev/null)" = "$want" ] || copy+=("$ref")
  done
  if [ ${#copy[@]} -gt 0 ]; then
    engine26_log "Copying ${#copy[@]} course image references into Engine $ENGINE (docker save | docker load)"
    DOCKER_HOST="$default_host" docker save "${copy[@]}" | private load -q >&2
  fi
  engine26_log "Course images on Engine $ENGINE in $((SECONDS - t0)) s"
}

run_tests() {
  local default_host="${DOCKER_HOST:-unix:///var/run/docker.sock}" started=0 t0
  if [ "$default_host" = "unix://$SOCKET" ]; then
    echo "DOCKER_HOST already names this private engine; run from the default engine's environment" >&2
    exit 2
  fi
  engine26_install "$DIR"
  if engine26_answers "$DIR" "$SOCKET"; then
    engine26_log "Engine $ENGINE at $SOCKET was already running (not started here): it stays running"
  else
    t0=$SECONDS
    # Stopped on every way out, also when a test fails or the run is interrupted.
    trap 'stop_engine' EXIT
    trap 'exit 130' INT TERM
    start_engine
    started=1
    engine26_log "Engine $ENGINE ($(private version -f '{{.Server.Version}}')) started in $((SECONDS - t0)) s"
  fi

  copy_images "$default_host"

  local before; before="$(objects)"
  if grep -q '^container ' <<<"$before"; then
    echo "Engine $ENGINE holds containers from before this run (not counted as this run's leftovers):" >&2
    private ps -a >&2
  fi
  t0=$SECONDS
  engine26_log "Tests on Engine $ENGINE: $*"
  local status=0
  (cd "$ROOT" && DOCKER_HOST="unix://$SOCKET" STOWAGE_SESSION_SUBNETS="$SESSION_SUBNETS" \
    npx vitest run "$@") || status=$?
  engine26_log "Tests on Engine $ENGINE took $((SECONDS - t0)) s (exit $status)"

  # Whatever the tests made must be gone: anything new on the engine since they started is a leftover.
  local leftovers; leftovers="$(comm -13 <(echo "$before") <(objects))"
  if [ -n "$leftovers" ]; then
    echo "Leftovers on Engine $ENGINE after the tests (made during the run, still there):" >&2
    echo "$leftovers" >&2
    [ "$started" = 1 ] && private ps -a >&2
    status=1
  fi
  return "$status"
}

case "${1:-}" in
  start)
    # STOWAGE_TEST_ENGINE_STARTED: 1 when started now, 0 when it was running already (whoever
    # started it stops it).
    started=1
    engine26_answers "$DIR" "$SOCKET" && started=0
    start_engine
    echo "export DOCKER_HOST=unix://$SOCKET STOWAGE_SESSION_SUBNETS=$SESSION_SUBNETS STOWAGE_TEST_ENGINE_STARTED=$started"
    ;;
  stop)
    stop_engine
    ;;
  images)
    copy_images "${DOCKER_HOST:-unix:///var/run/docker.sock}"
    ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 26|26b|20 run <test files...>" >&2; exit 2; }
    run_tests "$@"
    ;;
  *)
    echo "usage: $0 26|26b|20 start|stop|images|run <test files...>" >&2
    exit 2
    ;;
esac
