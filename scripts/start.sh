#!/usr/bin/env bash
# Quick start, command 1: the course at http://localhost:4321.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
# Before the build: it replaces dist/, which a server already running on this port serves.
node --input-type=module -e '
  const { assertPortFree } = await import("./sandbox/sessions/instance-claim.ts");
  const { loadConfig } = await import("./sandbox/config.ts");
  const config = loadConfig();
  await assertPortFree(config.host, config.port).catch((error) => {
    process.stderr.write(`stowage: ${error.message}\n`);
    process.exit(1);
  });
'
printf '\033[1m==> %s\033[0m\n' "Building the site" >&2
npx astro build --silent
exec node sandbox/server.ts
