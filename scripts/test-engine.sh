#!/usr/bin/env bash
# A second, private Docker engine beside the one at /var/run/docker.sock, for running the tests
# against Engine 26 (or Debian 12's Engine 20.10) on a machine whose default engine is another,
# or shared:
#   scripts/test-engine.sh 26 start   # prints the DOCKER_HOST and STOWAGE_SESSION_SUBNETS to use
#   scripts/test-engine.sh 20 start   # the same with Engine 20.10, unpacked from Debian 12's packages
#   scripts/test-engine.sh 26 stop
#   scripts/test-engine.sh 26b start  # a second private Engine 26 beside the first (own name, bridge
#                                     # e26bbr0, pools 10.234-236.x): the multi-engine tests use it
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
  20) N=4; STOWAGE_ENGINE26_SUITE=bookworm; ENGINE26_PACKAGES=(docker.io containerd runc tini) ;;
  *) echo "usage: $0 26|26b|20 start|stop" >&2; exit 2 ;;
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
    echo "export DOCKER_HOST=unix://$SOCKET STOWAGE_SESSION_SUBNETS=$SESSION_SUBNETS"
    ;;
  stop)
    engine26_stop "$STATE"
    # What a killed daemon (the multi-engine test kills one) leaves mounted: its containers'
    # network namespaces and its data-root's own mount. Only this engine's paths.
    awk -v run="$RUN/" -v state="$STATE/" 'index($2, run) == 1 || index($2, state) == 1 { print $2 }' \
      /proc/mounts | sort -r | while read -r mnt; do umount "$mnt" 2>/dev/null || true; done
    nat_rules -D 2>/dev/null || true
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
    ;;
  *)
    echo "usage: $0 26|26b|20 start|stop" >&2
    exit 2
    ;;
esac
