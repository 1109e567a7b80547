#!/usr/bin/env bash
# Writes the busybox root filesystem as a tar archive to $1, from Debian's busybox-static.
# Runs on the host as root (build.ts calls it); installs busybox-static when it is missing.
set -euo pipefail
out="$1"
if [ ! -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1 || ! dpkg -s busybox-static >/dev/null 2>&1; then
  echo "installing busybox-static on the host" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq busybox-static >&2 || { apt-get update -qq >&2 && apt-get install -y -qq busybox-static >&2; }
fi
root="$(mktemp -d /var/tmp/stowage-busybox.XXXXXX)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,var/spool/mail,var/www}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -s busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65534:
GROUP
echo 'root:*::0:::::' > "$root/etc/shadow"
chmod 640 "$root/etc/shadow"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out" .
