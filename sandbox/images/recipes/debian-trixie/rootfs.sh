#!/usr/bin/env bash
# debian:trixie-slim: the debian recipe's rootfs.sh (linked here, so this recipe's hash covers
# it) with the suite bookworm replaced by trixie (Debian 13), leaving the bookworm images as built.
set -euo pipefail
exec bash <(sed 's/bookworm/trixie/g; s/Debian 12/Debian 13/g' "$(dirname "$0")/bookworm-rootfs.sh") "$@"
