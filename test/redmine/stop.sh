#!/usr/bin/env bash
# Stop a Redmine started by start.sh, by the pid it wrote.
# Usage: stop.sh [--port N] [--purge]
#   --port N   the instance on port N (default $HONOROIT_TEST_REDMINE_PORT or 18030)
#   --purge    also delete its data
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"
log() { echo "[redmine-stop] $*" >&2; }

PORT="$HONOROIT_REDMINE_DEFAULT_PORT"
PURGE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --port=*) PORT="${1#--port=}"; shift ;;
    --purge) PURGE=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 1 ;;
  esac
done
DIR="$(instance_dir "$PORT")"
if [[ -f "$DIR/pid" ]]; then
  pid="$(cat "$DIR/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping Redmine on port $PORT (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/pid"
fi
if [[ "$PURGE" -eq 1 ]]; then rm -rf --one-file-system "$DIR"; fi
