#!/usr/bin/env bash
[ -f ~/diary.tar ] || { echo "There is no ~/diary.tar yet: docker export -o ~/diary.tar diary."; exit 1; }
list=$(tar tf ~/diary.tar 2>/dev/null) || { echo "~/diary.tar is not a tar archive: make it with docker export."; exit 1; }
grep -qx 'etc/diary-version' <<<"$list" || { echo "~/diary.tar is not an export of diary: it has no etc/diary-version, the file diary wrote into its writable layer."; exit 1; }
