#!/usr/bin/env bash
[ -f ~/diary-pages.tgz ] || { echo "There is no ~/diary-pages.tgz yet: archive the volume diary-pages with a tar helper."; exit 1; }
list=$(tar tzf ~/diary-pages.tgz 2>/dev/null) || { echo "~/diary-pages.tgz is not a gzipped tar archive: use tar czf."; exit 1; }
grep -qx '\./today.txt' <<<"$list" || { echo "~/diary-pages.tgz has no ./today.txt: archive the volume's content with -C /data . (and mount diary-pages at /data)."; exit 1; }
tar xzOf ~/diary-pages.tgz ./today.txt 2>/dev/null | grep -q "dear diary" || { echo "today.txt in ~/diary-pages.tgz is not the diary's page: archive the volume diary-pages itself."; exit 1; }
