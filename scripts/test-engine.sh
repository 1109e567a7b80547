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
#   scripts/test-engine.sh 26t start  # a third, reached over TCP with TLS as a remote engine would be:
#                                     # tcp://127.0.0.1:12376 with --tlsverify (bridge e26tbr0, pools
#                                     # 10.238-240.x); certificates made with openssl at first start,
#                                     # the client's (ca.pem, cert.pem, key.pem: what tls= and
#                                     # DOCKER_CERT_PATH name) in /var/lib/stowage-e26t/tls/client.
#                                     # Its unix socket is for this script only (waits, image copies);
#                                     # tests/faults/engine-tls.test.ts reaches it by TCP.
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
  26t) N=12; INSTALL=26; TLS_PORT="${STOWAGE_TEST_ENGINE_TLS_PORT:-12376}" ;;
  20) N=4; STOWAGE_ENGINE26_SUITE=bookworm; ENGINE26_PACKAGES=(docker.io containerd runc tini) ;;
  26r) N=16; INSTALL=26 ;;
  *) echo "usage: $0 26|26b|26t|26r|20 start|stop|images|run" >&2; exit 2 ;;
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
# 26t: the engine's CA and server certificate here, the client's set in $TLS_CLIENT (root only).
TLS_DIR="$STATE/tls"
TLS_CLIENT="$TLS_DIR/client"
TLS_ADDRESS="tcp://127.0.0.1:${TLS_PORT:-}"

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

# 26t's certificates, made once with Debian's openssl (installed when missing) and kept with the
# engine's data: a CA, the engine's certificate for IP 127.0.0.1 and a client certificate, all
# ECDSA P-256, for ten years; made again (with a new CA) when one is missing or expires within a
# day. The CA's key is deleted once both are signed: nothing else is ever signed with it.
# Sets TLS_MADE=1 when it made new ones (a running engine still presents the old).
TLS_MADE=0
make_tls_material() {
  local file ok=1
  for file in "$TLS_DIR"/{ca,server-cert,server-key}.pem "$TLS_CLIENT"/{ca,cert,key}.pem; do
    [ -s "$file" ] || ok=0
  done
  if [ "$ok" = 1 ] && openssl x509 -checkend 86400 -noout -in "$TLS_DIR/server-cert.pem" >/dev/null &&
    openssl x509 -checkend 86400 -noout -in "$TLS_CLIENT/cert.pem" >/dev/null; then
    return 0
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    engine26_log "Installing Debian's openssl for Engine $ENGINE's certificates"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2 ||
      { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2; }
  fi
  engine26_log "Making Engine $ENGINE's TLS certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$STATE" # before the umask: the remapped root must traverse it to the data-root
  (
    umask 077
    mkdir -p "$TLS_CLIENT"
    cd "$TLS_DIR"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
    # $1 key, $2 certificate, $3 subject, $4 extensions; signed by the CA (random serial).
    sign() {
      key "$1"
      printf '%b\n' "$4" > "$2.ext"
      openssl req -new -key "$1" -subj "$3" -out "$2.csr"
      openssl x509 -req -in "$2.csr" -CA ca.pem -CAkey ca-key.pem -sha256 -days 3650 \
        -extfile "$2.ext" -out "$2" 2>/dev/null
      rm -f "$2.csr" "$2.ext"
    }
    key ca-key.pem
    openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 \
      -subj "/CN=Stowage test engine $ENGINE CA" -out ca.pem
    sign server-key.pem server-cert.pem "/CN=127.0.0.1" \
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1"
    sign client/key.pem client/cert.pem "/CN=stowage-tests" \
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth"
    cp ca.pem client/ca.pem
    rm -f ca-key.pem
  )
  TLS_MADE=1
}

# 26t: what the docker CLI needs to reach it over TLS (as DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$TLS_CLIENT).
tls_client() {
  "$DIR/bin/docker" -H "$TLS_ADDRESS" --tlsverify --tlscacert "$TLS_CLIENT/ca.pem" \
    --tlscert "$TLS_CLIENT/cert.pem" --tlskey "$TLS_CLIENT/key.pem" "$@"
}

start_engine() {
  engine26_install "$DIR"
  local listen=()
  if [ -n "${TLS_PORT:-}" ]; then
    make_tls_material
    if [ "$TLS_MADE" = 1 ] && engine26_answers "$DIR" "$SOCKET"; then
      engine26_log "Engine $ENGINE runs with the certificates made before these: restarting it"
      stop_engine
    fi
    listen=(-H "$TLS_ADDRESS" --tlsverify --tlscacert "$TLS_DIR/ca.pem"
      --tlscert "$TLS_DIR/server-cert.pem" --tlskey "$TLS_DIR/server-key.pem")
  fi
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
      --default-address-pool "base=$POOL,size=26" "${listen[@]}"
    if [ "$had_docker0" = 1 ] && ! ip link show docker0 >/dev/null 2>&1; then
      echo "starting Engine $ENGINE removed the host's docker0: restart the default engine" >&2
      exit 1
    fi
  fi
  # The TLS side answers too, with the client's set checked against the engine's certificate.
  if [ -n "${TLS_PORT:-}" ] && ! tls_client version >/dev/null 2>&1; then
    tls_client version >&2 || true
    echo "Engine $ENGINE answers on $SOCKET but not over TLS at $TLS_ADDRESS (see $STATE/dockerd.log)" >&2
    exit 1
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
    if [ -n "${TLS_PORT:-}" ]; then
      engine26_log "Engine $ENGINE answers at $TLS_ADDRESS with TLS (tests reach it there; its unix socket is this script's); the client's ca.pem, cert.pem and key.pem are in $TLS_CLIENT"
      engine26_log "As an extra engine: STOWAGE_ENGINES='$TLS_ADDRESS?name=e$ENGINE&subnets=$SESSION_SUBNETS&tls=$TLS_CLIENT'"
      echo "export DOCKER_HOST=$TLS_ADDRESS DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$TLS_CLIENT STOWAGE_SESSION_SUBNETS=$SESSION_SUBNETS STOWAGE_TEST_ENGINE_STARTED=$started"
    else
      echo "export DOCKER_HOST=unix://$SOCKET STOWAGE_SESSION_SUBNETS=$SESSION_SUBNETS STOWAGE_TEST_ENGINE_STARTED=$started"
    fi
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
    if [ -n "${TLS_PORT:-}" ]; then
      echo "Engine $ENGINE is for tests that reach it over TCP with TLS (tests/faults/engine-tls.test.ts start and stop it); the tests that use it (engine-tls, remote-engine) start and stop it themselves: use 26 or 26b to run a whole suite against a private engine" >&2
      exit 2
    fi
    run_tests "$@"
    ;;
  *)
    echo "usage: $0 26|26b|26t|20 start|stop|images|run <test files...>" >&2
    exit 2
    ;;
esac
