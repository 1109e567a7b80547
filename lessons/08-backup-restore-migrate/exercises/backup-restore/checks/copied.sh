#!/usr/bin/env bash
fp='cd /v && find . | sort | while read -r f; do if [ -f "$f" ]; then s=$(md5sum < "$f"); else s=-; fi; echo "$f $(stat -c "%u:%g %a" "$f") $s"; done'
docker volume inspect app-data-copy >/dev/null 2>&1 || { echo "There is no volume named app-data-copy yet."; exit 1; }
a=$(docker run --rm -v app-data:/v:ro busybox sh -c "$fp" 2>/dev/null) || { echo "Could not read the volume app-data."; exit 1; }
b=$(docker run --rm -v app-data-copy:/v:ro busybox sh -c "$fp" 2>/dev/null)
[ "$(wc -l <<<"$b")" -gt 1 ] || { echo "The volume app-data-copy exists but is empty: copy into it with cp -a /from/. /to/."; exit 1; }
[ "$a" = "$b" ] && exit 0
first=$(diff <(echo "$a") <(echo "$b") | grep -m1 '^[<>]' | cut -c3- | cut -d' ' -f1)
echo "app-data-copy differs from app-data, first at $first: use cp -a /from/. /to/ so names, owners and modes are kept."
exit 1
