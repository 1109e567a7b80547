#!/usr/bin/env bash
# `npm run dev`, `npm run lessons:test` ...: the instructor's CLI (bin/stowage.js) with Node 24, a
# Docker daemon and the images made ready first, as `npm start` does.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
exec node bin/stowage.js "$@"
