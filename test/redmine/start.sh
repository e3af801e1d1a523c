#!/usr/bin/env bash
# Start a throw-away Redmine for the integration tests (webrick, one request at a time, SQLite),
# from the template database made by setup.sh: every start is a clean start. Prints on stdout:
#   HONOROIT_TEST_REDMINE_URL=http://127.0.0.1:PORT
#   HONOROIT_TEST_REDMINE_KEY=<API key of the bot's Redmine user, "honoroit">
#   HONOROIT_TEST_REDMINE_HUMAN_KEY=<API key of a human operator, "olive">
#   HONOROIT_TEST_REDMINE_PROJECT=helpdesk
#
# Usage: start.sh [--port N] [--keep-data] [--timeout SECONDS]
#   --port N        listen on 127.0.0.1:N (default $HONOROIT_TEST_REDMINE_PORT or 18030)
#   --keep-data     start again with the instance's existing database (after stop.sh)
#   --timeout S     how long to wait for the API (default 60)
# Log: /var/lib/redmine/honoroit-PORT/log/
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

log() { echo "[redmine-start] $*" >&2; }
die() { echo "[redmine-start] ERROR: $*" >&2; exit 1; }

PORT="$HONOROIT_REDMINE_DEFAULT_PORT"
KEEP=0
TIMEOUT=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --port=*) PORT="${1#--port=}"; shift ;;
    --keep-data) KEEP=1; shift ;;
    --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$PORT" =~ ^[0-9]+$ ]] || die "invalid port: $PORT"
[[ "$(id -u)" -eq 0 ]] || die "must run as root"
TEMPLATE="$(instance_dir template)"
[[ -f "$TEMPLATE/ready" ]] || die "no Redmine template: run test/redmine/setup.sh first"

DIR="$(instance_dir "$PORT")"
URL="http://127.0.0.1:$PORT"
"$HERE/stop.sh" --port "$PORT" >&2 || true
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "port $PORT on 127.0.0.1 is already in use by another process (choose --port)"
fi

if [[ "$KEEP" -eq 0 || ! -f "$DIR/db/redmine.sqlite3" ]]; then
  rm -rf --one-file-system "$DIR"
  make_instance "$PORT"
  cp "$TEMPLATE/db/redmine.sqlite3" "$DIR/db/redmine.sqlite3"
  chown www-data:www-data "$DIR/db/redmine.sqlite3"
fi

START_NS="$(date +%s%N)"
(as_redmine "$PORT" rackup -s webrick -E production -o 127.0.0.1 -p "$PORT" "$DIR/config.ru") \
  >"$DIR/log/stdout.log" 2>&1 </dev/null &
echo $! >"$DIR/pid"

deadline=$(( $(date +%s) + TIMEOUT ))
until curl -fsS -o /dev/null --max-time 5 -H "X-Redmine-API-Key: $BOT_KEY" "$URL/users/current.json" 2>/dev/null; do
  if ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
    tail -n 30 "$DIR/log/stdout.log" >&2 || true
    die "Redmine exited during start-up (see $DIR/log/stdout.log)"
  fi
  if [[ "$(date +%s)" -ge "$deadline" ]]; then
    tail -n 30 "$DIR/log/stdout.log" >&2 || true
    "$HERE/stop.sh" --port "$PORT" >&2 || true
    die "Redmine did not answer $URL/users/current.json within ${TIMEOUT}s"
  fi
  sleep 0.3
done
log "ready in $(( ($(date +%s%N) - START_NS) / 1000000 )) ms on $URL (pid $(cat "$DIR/pid"))"
echo "HONOROIT_TEST_REDMINE_URL=$URL"
echo "HONOROIT_TEST_REDMINE_KEY=$BOT_KEY"
echo "HONOROIT_TEST_REDMINE_HUMAN_KEY=$HUMAN_KEY"
echo "HONOROIT_TEST_REDMINE_PROJECT=helpdesk"
