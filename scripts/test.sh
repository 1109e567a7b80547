#!/usr/bin/env bash
# Quick start, command 2: every test (lint, types, unit, integration against the real daemon,
# lesson tests, end-to-end in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
step "Type check"; npx tsc --noEmit -p .
step "Lint"; npx eslint .
step "Tests"; npx vitest run "$@"
