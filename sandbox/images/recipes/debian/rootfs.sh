#!/usr/bin/env bash
# Writes a minimal Debian 12 (bookworm) root filesystem as a tar archive to $1, made with
# `debootstrap --variant=minbase` and trimmed like the official debian:bookworm-slim.
# Runs on the host as root (build.ts calls it); installs debootstrap when it is missing.
set -euo pipefail
out="$1"
mirror="${STOWAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap on the host" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq debootstrap >&2 || { apt-get update -qq >&2 && apt-get install -y -qq debootstrap >&2; }
fi
root="$(mktemp -d /var/tmp/stowage-debian.XXXXXX)"
cleanup() {
  for m in proc sys dev/pts dev; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" 2>&1 | sed -u 's/^/debootstrap: /' >&2

# Configuration the official image carries (debuerreotype's "minimizing config").
cat > "$root/usr/sbin/policy-rc.d" <<'POLICY'
#!/bin/sh
# Packages must not start services while an image is built.
exit 101
POLICY
chmod 755 "$root/usr/sbin/policy-rc.d"
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
# Keep images small: no documentation, manual pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
DPKG
echo 'force-unsafe-io' > "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

# Trim what an image does not need.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/var/cache/ldconfig/aux-cache "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/log/bootstrap.log \
  "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.bash_history "$root"/etc/resolv.conf "$root"/etc/hostname
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
: > "$root/etc/machine-id"
rm -rf "$root"/dev/* "$root"/proc/* "$root"/sys/*
tar --numeric-owner --xattrs --one-file-system -C "$root" -cf "$out" .
