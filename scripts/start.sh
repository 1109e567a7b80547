#!/usr/bin/env bash
# Quick start, command 1: the course at http://localhost:4321.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
printf '\033[1m==> %s\033[0m\n' "Building the site" >&2
npx astro build --silent
exec node sandbox/server.ts
