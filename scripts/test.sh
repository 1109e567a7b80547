#!/usr/bin/env bash
# Quick start, command 2: every test (lint, types, unit, integration against the real daemon,
# lesson tests, end-to-end in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
if ! command -v "${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null 2>&1; then
  step "Installing Debian's Chromium for the browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }
fi
step "Type check"; npx astro sync >/dev/null; npx tsc --noEmit -p .
step "Lint"; npx eslint .
step "Format"; npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "run npm run format" >&2; exit 1; }
step "Tests"; npx vitest run "$@"

# The attack suite once more on Docker Engine 20.10 (issue 12: students' engines and operators'
# hosts may still run it), on a private engine beside the default one, which it does not touch:
# own socket, data-root and bridge (scripts/test-engine.sh; stopped again also on failure).
# Skipped when test files are given (`npm test -- tests/x.test.ts`) or with STOWAGE_TEST_ENGINE20=0.
if [ $# -eq 0 ] && [ "${STOWAGE_TEST_ENGINE20:-1}" != 0 ]; then
  step "Attack suite on Engine 20.10 (private engine; STOWAGE_TEST_ENGINE20=0 skips it)"
  bash scripts/test-engine.sh 20 run tests/attacks/ tests/sandbox/as-at-home.test.ts
fi
