#!/usr/bin/env bash
[ -d ~/site ] || { echo "There is no folder ~/site yet: mkdir -p ~/site."; exit 1; }
[ -f ~/site/index.html ] || { echo "~/site exists, but there is no index.html in it."; exit 1; }
[ -s ~/site/index.html ] || { echo "~/site/index.html is empty: put some HTML in it."; exit 1; }
