#!/usr/bin/env bash
f=~/app-data.tgz
[ -f "$f" ] || { echo "There is no ~/app-data.tgz yet (is the helper's /backup your home, and the file name right?)."; exit 1; }
list=$(tar tzf "$f" 2>/dev/null) || { echo "~/app-data.tgz is not a gzipped tar archive: use tar czf (c = create, z = gzip)."; exit 1; }
grep -qx '\./notes.txt' <<<"$list" || {
  if grep -q 'notes.txt' <<<"$list"; then echo "The archive holds notes.txt as $(grep -m1 notes.txt <<<"$list"), not ./notes.txt: archive with -C /data . so paths start at the volume's root."; else echo "~/app-data.tgz does not contain notes.txt: did you mount app-data at the folder you archived?"; fi
  exit 1; }
grep -qx '\./uploads/photo-001.bin' <<<"$list" || { echo "~/app-data.tgz lacks ./uploads/photo-001.bin: archive the whole volume, not just one file."; exit 1; }
