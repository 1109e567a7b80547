#!/usr/bin/env bash
mounts=$(docker inspect --format '{{json .Mounts}}' web 2>/dev/null) || { echo "There is no container named web yet."; exit 1; }
m=$(jq -c '.[] | select(.Destination=="/usr/share/nginx/html")' <<<"$mounts")
[ -n "$m" ] || { echo "web is not mounting anything at /usr/share/nginx/html, so nginx shows its default page."; exit 1; }
[ "$(jq -r .Type <<<"$m")" = bind ] || { echo "web mounts a volume named $(jq -r .Name <<<"$m") at /usr/share/nginx/html, not your folder: use an absolute path such as \"\$HOME/site\" (a plain word is a volume name)."; exit 1; }
src=$(jq -r .Source <<<"$m")
[[ "$src" == */site ]] || { echo "web bind-mounts $src, not ~/site, at /usr/share/nginx/html."; exit 1; }
[ "$(jq -r .RW <<<"$m")" = false ] || { echo "web mounts ~/site read-write: recreate it with :ro (or ,readonly with --mount)."; exit 1; }
[ "$(docker inspect --format '{{.State.Running}}' web)" = true ] || { echo "web is set up correctly but not running; docker logs web tells you why."; exit 1; }
