#!/usr/bin/env bash
# Stop a Synapse instance started by start.sh, by the pid in its pid file.
# Usage: stop.sh [--port N | --all] [--purge]
#   --port N   the instance listening on N (default $HONOROIT_TEST_SYNAPSE_PORT or 18008)
#   --all      every instance started by start.sh
#   --purge    also delete the instance's data directory
# Unmounts the chroot's /proc when start.sh mounted it and no instance is left.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

log() { echo "[synapse-stop] $*" >&2; }
die() { echo "[synapse-stop] ERROR: $*" >&2; exit 1; }

PORTS=()
ALL=0
PURGE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORTS+=("${2:?--port needs a value}"); shift 2 ;;
    --port=*) PORTS+=("${1#--port=}"); shift ;;
    --all) ALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$(id -u)" -eq 0 ]] || die "must run as root"

ROOT="$HONOROIT_SYNAPSE_ROOT"
if [[ "$ALL" -eq 1 ]]; then
  PORTS=()
  if [[ -d "$HONOROIT_SYNAPSE_INSTANCES" ]]; then
    for dir in "$HONOROIT_SYNAPSE_INSTANCES"/*/; do
      [[ -d "$dir" ]] && PORTS+=("$(basename "$dir")")
    done
  fi
elif [[ ${#PORTS[@]} -eq 0 ]]; then
  PORTS=("$HONOROIT_SYNAPSE_DEFAULT_PORT")
fi

status=0
stop_one() {
  local port="$1" pid i
  if ! instance_running "$port"; then
    log "no running instance on port $port"
  else
    pid="$(instance_pid "$port")"
    log "stopping Synapse on port $port (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # Up to 10 s for a clean exit; a zombie (exited, not yet reaped) counts as gone.
    for ((i = 0; i < 100; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      log "pid $pid still alive after 10 s: sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
      done
      if pid_alive "$pid"; then
        log "ERROR: pid $pid did not die"
        status=1
        return
      fi
    fi
    log "stopped (pid $pid)"
  fi
  # The env file describes a running server only.
  rm -f "$HONOROIT_SYNAPSE_INSTANCES/$port/homeserver.pid" "$HONOROIT_SYNAPSE_INSTANCES/$port/env"
  if [[ "$PURGE" -eq 1 && -d "$HONOROIT_SYNAPSE_INSTANCES/$port" ]]; then
    rm -rf --one-file-system "${HONOROIT_SYNAPSE_INSTANCES:?}/$port"
    log "removed data of port $port"
  fi
}

for port in "${PORTS[@]}"; do
  [[ "$port" =~ ^[0-9]+$ ]] || die "invalid port: $port"
  stop_one "$port"
done

if [[ -f "$HONOROIT_SYNAPSE_PROC_MARKER" ]] && ! any_instance_running; then
  if mountpoint -q "$ROOT/proc"; then
    if umount "$ROOT/proc" 2>/dev/null || umount -l "$ROOT/proc"; then
      log "unmounted $ROOT/proc"
    else
      log "could not unmount $ROOT/proc"
      status=1
    fi
  fi
  rm -f "$HONOROIT_SYNAPSE_PROC_MARKER"
fi
exit "$status"
