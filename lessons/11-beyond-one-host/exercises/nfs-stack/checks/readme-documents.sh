#!/usr/bin/env bash
f=~/nfs-stack/README.md
[ -f "$f" ] || { echo "There is no ~/nfs-stack/README.md yet."; exit 1; }
grep -q 'app-data' "$f" || { echo "README.md does not name the volume app-data."; exit 1; }
grep -q '/data' "$f" || { echo "README.md names app-data, but not where it is mounted (/data)."; exit 1; }
grep -qi 'backup\|back up\|backed up' "$f" || { echo "README.md says what app-data is and where, but not how it is backed up."; exit 1; }
