#!/usr/bin/env bash
# A second, private Docker Engine 26 beside the one at /var/run/docker.sock, for running the tests
# against Engine 26 on a machine whose default engine is another (or shared):
#   scripts/engine26-test.sh start   # prints the DOCKER_HOST and STOWAGE_SESSION_SUBNETS to use
#   scripts/engine26-test.sh stop
# It touches nothing of the other engine: own socket, data-root, exec-root, pidfile, containerd,
# address pools and bridge (never `--bridge none`: moby then deletes the host's docker0), and
# --iptables=false so the two daemons never rewrite each other's DOCKER chains. Instead this
# script adds its own NAT/forward rules for its own bridge only, so image builds (RUN apt-get) on
# its default bridge reach Debian's archive; session networks stay internal.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/engine26.sh"

DIR="${STOWAGE_ENGINE26_DIR:-$ROOT/.tools/docker26}"
STATE="${STOWAGE_ENGINE26_TEST_STATE:-/var/lib/stowage-e26}"
RUN="${STOWAGE_ENGINE26_TEST_RUN:-/run/stowage-e26}"
SOCKET="$RUN/docker.sock"
BRIDGE="${STOWAGE_ENGINE26_TEST_BRIDGE:-e26br0}"
BRIDGE_CIDR="${STOWAGE_ENGINE26_TEST_BRIDGE_CIDR:-10.227.0.1/24}"
POOL="${STOWAGE_ENGINE26_TEST_POOL:-10.228.0.0/16}"
SESSION_SUBNETS="${STOWAGE_ENGINE26_TEST_SESSION_SUBNETS:-10.226.0.0/16}"

# Each rule as iptables arguments after the table/verb: $1 is -C (check), -I (insert) or -D.
nat_rules() {
  local verb="$1" net="${BRIDGE_CIDR%.*}.0/${BRIDGE_CIDR#*/}" ok=0
  iptables -w -t nat "$verb" POSTROUTING -s "$net" ! -o "$BRIDGE" -j MASQUERADE || ok=1
  iptables -w "$verb" FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j ACCEPT || ok=1
  iptables -w "$verb" FORWARD -o "$BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT || ok=1
  return $ok
}

case "${1:-}" in
  start)
    engine26_install "$DIR"
    if ! engine26_answers "$DIR" "$SOCKET"; then
      if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
        ip link set "$BRIDGE" up
      fi
      nat_rules -C 2>/dev/null || { nat_rules -D 2>/dev/null || true; nat_rules -I; }
      mkdir -p "$RUN"
      echo '{}' > "$RUN/daemon.json" # not /etc/docker/daemon.json: that one is the other engine's
      engine26_start "$DIR" "$SOCKET" "$STATE" \
        --config-file "$RUN/daemon.json" \
        --data-root "$STATE/data" --exec-root "$RUN/exec" \
        --userns-remap=default --bridge "$BRIDGE" --iptables=false \
        --default-address-pool "base=$POOL,size=26"
    fi
    echo "export DOCKER_HOST=unix://$SOCKET STOWAGE_SESSION_SUBNETS=$SESSION_SUBNETS"
    ;;
  stop)
    engine26_stop "$STATE"
    nat_rules -D 2>/dev/null || true
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
