#!/usr/bin/env bash
[ -f ~/site/about.html ] || { echo "There is no ~/site/about.html yet."; exit 1; }
docker inspect web >/dev/null 2>&1 || { echo "There is no container named web: do the previous task first."; exit 1; }
docker exec web test -r /usr/share/nginx/html/about.html 2>/dev/null || { echo "~/site/about.html exists, but web does not see it at /usr/share/nginx/html: is ~/site the folder web mounts?"; exit 1; }
want=$(cat ~/site/about.html)
got=$(docker exec web cat /usr/share/nginx/html/about.html 2>/dev/null)
[ "$got" = "$want" ] || { echo "web sees a different about.html than the one in ~/site."; exit 1; }
