#!/usr/bin/env bash
docker volume inspect guestbook-data >/dev/null 2>&1 || { echo "There is no volume guestbook-data yet: create it and copy the entries into it."; exit 1; }
docker run --rm -v guestbook-data:/v busybox grep -q "Ada Lovelace" /v/entries.txt 2>/dev/null || { echo "guestbook-data has no entries.txt with the old entries (Ada Lovelace's, for one) at its top level: copy the content of /srv/guestbook, not the folder itself."; exit 1; }
docker run --rm -v guestbook-data:/v busybox test -f /v/photos/party.txt 2>/dev/null || { echo "entries.txt is rescued, but photos/party.txt is missing from guestbook-data: copy everything in /srv/guestbook."; exit 1; }
