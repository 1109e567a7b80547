#!/usr/bin/env bash
# Docker Engine 26 for a Debian 12 host, from Debian 13 ("trixie") packages, without changing the
# host's packages or apt sources (why: docs/decisions/engine.md). Source this file, then:
#   engine26_install DIR         downloads the .deb files and unpacks the binaries into DIR/bin
#                                (idempotent; a stamp file records what is there)
#   engine26_start DIR SOCKET STATE_DIR [dockerd flags...]
#                                starts dockerd 26 on unix://SOCKET with its data, exec root,
#                                pidfile and log under STATE_DIR (or the flags given), and waits
#                                until it answers
#   engine26_stop STATE_DIR      stops the daemon started with that STATE_DIR (by its pidfile)
# The same functions start the default engine in bootstrap.sh and a second, private engine for
# tests beside another one (scripts/test-engine.sh).

ENGINE26_SUITE="${STOWAGE_ENGINE26_SUITE:-trixie}"
ENGINE26_MIRROR="${STOWAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The Engine, its client and plugins, containerd 1.7 and tini (docker-init), all from Debian 13.
# (STOWAGE_ENGINE26_SUITE=bookworm with ENGINE26_PACKAGES=(docker.io containerd runc tini) unpacks
# Debian 12's Engine 20.10 the same way: scripts/test-engine.sh 20.)
if [ -z "${ENGINE26_PACKAGES+set}" ]; then
  ENGINE26_PACKAGES=(docker.io docker-cli docker-compose docker-buildx containerd tini)
fi

engine26_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# apt-get against Debian 13's archive only, with lists kept under DIR: the host's sources.list,
# its lists and its installed packages stay as they are.
engine26_apt() {
  local dir="$1"; shift
  apt-get -q -o Dir::Etc::sourcelist="$dir/apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" \
    -o APT::Sandbox::User=root "$@"
}

engine26_installed() { [ -x "$1/bin/dockerd" ] && [ -f "$1/.installed" ]; }

engine26_install() {
  local dir="$1"
  engine26_installed "$dir" && return 0
  engine26_log "Installing Docker Engine 26 from Debian 13 packages into ${dir#"$PWD"/}"
  mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/bin" "$dir/cli-plugins"
  echo "deb $ENGINE26_MIRROR $ENGINE26_SUITE main" > "$dir/apt/sources.list"
  engine26_apt "$dir" update -qq >&2
  (cd "$dir/debs" && rm -f ./*.deb && engine26_apt "$dir" download "${ENGINE26_PACKAGES[@]}" >&2)
  # runc: Debian 13's needs glibc 2.38; Debian 12's own (1.1.5+ds1-1+deb12u1, with the
  # CVE-2024-21626 fix) works with dockerd 26. Use the host's when installed, else unpack it.
  if ! command -v runc >/dev/null 2>&1 && [ "$ENGINE26_SUITE" != bookworm ]; then
    (cd "$dir/debs" && apt-get download runc >&2 || { apt-get update -qq >&2 && apt-get download runc >&2; })
  fi
  local tree; tree="$(mktemp -d)"
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$tree"; done
  local b
  for b in usr/sbin/dockerd usr/sbin/docker-proxy usr/bin/docker usr/bin/containerd \
    usr/bin/containerd-shim-runc-v2 usr/bin/ctr; do
    install -m 755 "$tree/$b" "$dir/bin/"
  done
  [ -x "$tree/usr/sbin/runc" ] && install -m 755 "$tree/usr/sbin/runc" "$dir/bin/runc"
  install -m 755 "$tree/usr/bin/tini-static" "$dir/bin/docker-init"
  if [ -d "$tree/usr/libexec/docker/cli-plugins" ]; then
    install -m 755 "$tree"/usr/libexec/docker/cli-plugins/* "$dir/cli-plugins/"
  fi
  rm -rf "$tree" "$dir/apt/cache"
  (cd "$dir/debs" && ls ./*.deb) > "$dir/.installed"
  "$dir/bin/dockerd" --version >&2
}

# The docker CLI finds the compose and buildx plugins here when DOCKER_CONFIG is not set.
engine26_cli_plugins() { echo "$1/cli-plugins"; }

engine26_answers() { timeout 10 "$1/bin/docker" -H "unix://$2" version >/dev/null 2>&1; }

engine26_start() {
  local dir="$1" socket="$2" state="$3"; shift 3
  mkdir -p "$state" "$(dirname "$socket")"
  engine26_log "Starting ${dir##*/}/bin/dockerd on unix://$socket (log in $state/dockerd.log)"
  # PATH: containerd 1.7, its shim, docker-proxy and (when unpacked) runc from DIR come before the
  # host's. setsid: the daemon outlives the script and the terminal that ran it.
  PATH="$dir/bin:$PATH" setsid "$dir/bin/dockerd" \
    -H "unix://$socket" --pidfile "$state/dockerd.pid" \
    --init-path "$dir/bin/docker-init" --userland-proxy-path "$dir/bin/docker-proxy" \
    "$@" >"$state/dockerd.log" 2>&1 </dev/null &
  local _
  for _ in $(seq 1 60); do engine26_answers "$dir" "$socket" && return 0; sleep 0.5; done
  echo "dockerd 26 did not answer on $socket; see $state/dockerd.log" >&2
  tail -5 "$state/dockerd.log" >&2
  return 1
}

engine26_stop() {
  local state="$1" pid
  pid="$(cat "$state/dockerd.pid" 2>/dev/null)" || return 0
  kill "$pid" 2>/dev/null || return 0
  local _
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  echo "dockerd $pid did not stop in 30 s" >&2
  return 1
}
