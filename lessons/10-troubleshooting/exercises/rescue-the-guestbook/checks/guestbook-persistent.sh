#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' guestbook 2>/dev/null) || { echo "There is no container named guestbook right now: run it again with -v guestbook-data:/srv/guestbook."; exit 1; }
jq -e '.[] | select(.Type=="volume" and .Name=="guestbook-data" and .Destination=="/srv/guestbook")' <<<"$mounts" >/dev/null || { echo "guestbook does not mount guestbook-data at /srv/guestbook, so its entries still live only in its writable layer."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' guestbook)" = true ] || { echo "guestbook has the volume but is not running: reuse its original command."; exit 1; }
docker exec guestbook grep -q "Ada Lovelace" /srv/guestbook/entries.txt 2>/dev/null || { echo "guestbook mounts guestbook-data, but the old entries are not in it: rescue them first."; exit 1; }
cmd=$(docker inspect --format '{{json .Config.Cmd}}' guestbook)
grep -q 'a visitor signed' <<<"$cmd" || { echo "guestbook runs another command than before, so it no longer signs the book: reuse the original one (the first hint shows how to read it before you remove the container)."; exit 1; }
