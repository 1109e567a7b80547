#!/usr/bin/env bash
# fails: pages-saved
# Archives a hand-written today.txt instead of the volume.
set -e
mkdir -p ~/fake && cd ~/fake && echo "my page" > today.txt && tar czf ~/diary-pages.tgz .
