#!/bin/bash
# How long a start takes when it adopts N live sessions (docs/decisions/restarts-keep-sandboxes.md):
# a server with its own instance, port and data folder makes N sessions, is killed with -9 and
# started again, stopped with SIGTERM and started again, and finally stopped ending them all.
# Usage: bash tools/measure-restart.sh [N=10]   (as root, beside the course's engine; removes what it made)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
mkdir -p .data
DATA=$(mktemp -d "$PWD/.data/measure-XXXX")
export STOWAGE_PORT=$((47000 + RANDOM % 1000)) STOWAGE_INSTANCE="m$RANDOM$RANDOM" STOWAGE_DATA_DIR=$DATA
export STOWAGE_POOL_SIZE=0 STOWAGE_CREATE_PER_MINUTE=1000 STOWAGE_ANONYMOUS_PER_ADDRESS=1000 STOWAGE_LOG_LEVEL=warn
PID=
started() {
  local t0
  t0=$(date +%s.%N)
  node sandbox/server.ts >"$DATA.log" 2>&1 &
  PID=$!
  until grep -q "Stowage is running" "$DATA.log"; do sleep 0.05; done
  printf '%-45s %5.2f s  %s\n' "start, $1" "$(echo "$(date +%s.%N) - $t0" | bc)" \
    "$(curl -s "localhost:$STOWAGE_PORT/api/health" | grep -o '"sessions":[0-9]*')"
}
stopped() {
  local t0
  t0=$(date +%s.%N)
  kill "-$1" "$PID"
  wait "$PID" || true
  printf '%-45s %5.2f s\n' "stop ($1), $2" "$(echo "$(date +%s.%N) - $t0" | bc)"
}
started "no sessions"
for _ in $(seq "$N"); do curl -s -o /dev/null -X POST "localhost:$STOWAGE_PORT/api/sessions"; done
sleep 3
stopped KILL "$N sessions"
started "adopting $N sessions after kill -9"
stopped TERM "keeping $N sessions"
started "adopting $N sessions after SIGTERM"
stopped TERM "keeping $N sessions"
STOWAGE_STOP_ENDS_SESSIONS=true started "adopting $N, STOWAGE_STOP_ENDS_SESSIONS=true"
stopped TERM "ending $N sessions"
echo "left on the engine: $(docker ps -aq --filter "label=stowage.instance=$STOWAGE_INSTANCE" | wc -l) containers"
docker volume rm "stowage-instance-$STOWAGE_INSTANCE" >/dev/null 2>&1 || true
rm -rf "$DATA" "$DATA.log"
