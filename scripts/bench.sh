#!/usr/bin/env bash
# npm run bench: measures on the real engine and writes docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
mkdir -p .data
exec node sandbox/bench/bench.ts
