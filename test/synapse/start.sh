#!/usr/bin/env bash
# Start a throw-away Synapse homeserver for the integration tests, inside the
# chroot prepared by setup.sh. Prints on stdout (and writes to an env file):
#   HONOROIT_TEST_HOMESERVER=http://127.0.0.1:PORT
#   HONOROIT_TEST_SYNAPSE_SECRET=<registration shared secret>
#   HONOROIT_TEST_SYNAPSE_ENV_FILE=<path of that env file>
#   HONOROIT_TEST_SYNAPSE_DATABASE=SQLite|PostgreSQL
# so `eval "$(test/synapse/start.sh)"` or `set -a; . <env file>` works.
#
# Usage: start.sh [--port N] [--strict-ratelimit] [--postgres] [--keep-data] [--timeout SECONDS]
#   --port N             listen on 127.0.0.1:N (default $HONOROIT_TEST_SYNAPSE_PORT or 18008)
#   --strict-ratelimit   keep rc_message low (0.5/s, burst 2) to exercise 429 handling;
#                        every other limiter stays raised
#   --postgres           keep Synapse's data in PostgreSQL (127.0.0.1:5432, user postgres, a
#                        fresh database synapse_PORT) instead of SQLite, as a deployment would:
#                        SQLite serialises every write, which dominates under heavy load
#   --keep-data          reuse the instance's existing database instead of starting fresh
#   --timeout SECONDS    how long to wait for the client API (default 60)
# Logs: <chroot>/var/lib/honoroit-test/PORT/homeserver.log
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

log() { echo "[synapse-start] $*" >&2; }
die() { echo "[synapse-start] ERROR: $*" >&2; exit 1; }

PORT="$HONOROIT_SYNAPSE_DEFAULT_PORT"
STRICT=0
POSTGRES=0
KEEP=0
TIMEOUT=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --port=*) PORT="${1#--port=}"; shift ;;
    --strict-ratelimit) STRICT=1; shift ;;
    --postgres) POSTGRES=1; shift ;;
    --keep-data) KEEP=1; shift ;;
    --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
    --timeout=*) TIMEOUT="${1#--timeout=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]] || die "invalid port: $PORT"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "invalid timeout: $TIMEOUT"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (chroot/mount need it)"

ROOT="$HONOROIT_SYNAPSE_ROOT"
if [[ ! -f "$ROOT/.honoroit-synapse-ready" ]]; then
  die "no Synapse chroot at $ROOT: run test/synapse/setup.sh first"
fi

SYN_UID="$(awk -F: '$1=="matrix-synapse"{print $3}' "$ROOT/etc/passwd")"
SYN_GID="$(awk -F: '$1=="matrix-synapse"{print $4}' "$ROOT/etc/passwd")"
[[ -n "$SYN_UID" && -n "$SYN_GID" ]] || die "user matrix-synapse missing in $ROOT/etc/passwd"

DATA_IN="$HONOROIT_SYNAPSE_INSTANCES_IN_CHROOT/$PORT"   # path as Synapse sees it
DATA="$ROOT$DATA_IN"                                    # path on the host
BASE_URL="http://127.0.0.1:$PORT"

# A previous instance on this port is stopped first: every start is a clean start.
if instance_running "$PORT"; then
  log "an instance is already running on port $PORT (pid $(instance_pid "$PORT")): stopping it"
  "$HERE/stop.sh" --port "$PORT" >&2 || die "could not stop the previous instance on port $PORT"
fi

http_ok() {
  # true when GET $1 answers with HTTP 200
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    chroot "$ROOT" python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" >/dev/null 2>&1
  fi
}

port_in_use() {
  # bash's /dev/tcp: a successful connect means something listens on the port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
if port_in_use "$PORT"; then
  die "port $PORT on 127.0.0.1 is already in use by another process (choose --port or HONOROIT_TEST_SYNAPSE_PORT)"
fi

if [[ "$KEEP" -eq 1 && -f "$DATA/homeserver.yaml" ]]; then
  log "keeping existing data in $DATA"
  # Re-read the secret of the kept instance.
  SECRET="$(sed -n 's/^registration_shared_secret: "\([0-9a-f]*\)"$/\1/p' "$DATA/homeserver.yaml")"
  [[ -n "$SECRET" ]] || die "cannot read registration_shared_secret from $DATA/homeserver.yaml"
  PREV_STRICT="$(cat "$DATA/profile" 2>/dev/null || echo default)"
  if [[ ( "$STRICT" -eq 1 && "$PREV_STRICT" != strict ) || ( "$STRICT" -eq 0 && "$PREV_STRICT" == strict ) ]]; then
    log "note: rate-limit profile changes need a fresh start; rewriting the config"
    KEEP_CONFIG=0
  else
    KEEP_CONFIG=1
  fi
else
  KEEP=0
  KEEP_CONFIG=0
  if [[ -e "$DATA" ]]; then
    log "removing previous data in $DATA"
    rm -rf --one-file-system "$DATA"
  fi
  mkdir -p "$DATA/media"
  SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
fi
[[ -n "$SECRET" ]] || die "could not generate a secret"

PG_DB="synapse_$PORT"
database_config() {
  if [[ "$POSTGRES" -eq 1 ]]; then
    printf '  name: psycopg2\n  args:\n    user: postgres\n    host: 127.0.0.1\n    port: 5432\n    database: %s\n    cp_min: 2\n    cp_max: 10\n' "$PG_DB"
  else
    printf '  name: sqlite3\n  args:\n    database: %s\n' "$DATA_IN/homeserver.db"
  fi
}

if [[ "$POSTGRES" -eq 1 && "$KEEP" -eq 0 ]]; then
  command -v psql >/dev/null 2>&1 || die "--postgres needs psql and a PostgreSQL on 127.0.0.1:5432"
  log "a fresh PostgreSQL database $PG_DB"
  psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $PG_DB" \
    -c "CREATE DATABASE $PG_DB ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >&2 \
    || die "could not create the database $PG_DB"
fi

write_config() {
  local macaroon form msg_rate msg_burst high=1000000
  macaroon="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  form="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  if [[ "$STRICT" -eq 1 ]]; then msg_rate=0.5; msg_burst=2; echo strict >"$DATA/profile"
  else msg_rate=$high; msg_burst=$high; echo default >"$DATA/profile"; fi

  cat >"$DATA/log.yaml" <<YAML
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
filters:
  context:
    (): synapse.logging.context.LoggingContextFilter
    request: ""
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $DATA_IN/homeserver.log
    filters: [context]
    encoding: utf8
loggers:
  synapse:
    level: INFO
  synapse.storage.SQL:
    level: WARNING
  twisted:
    level: WARNING
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
YAML

  # Every limiter is raised far beyond what tests do, except rc_message in
  # the strict profile. Names follow synapse/config/ratelimiting.py.
  rl() { printf '  per_second: %s\n  burst_count: %s\n' "$1" "$2"; }
  cat >"$DATA/homeserver.yaml" <<YAML
# Generated by test/synapse/start.sh for integration tests. Not for production.
server_name: localhost
public_baseurl: $BASE_URL/
pid_file: $DATA_IN/homeserver.pid
log_config: $DATA_IN/log.yaml
signing_key_path: $DATA_IN/signing.key
media_store_path: $DATA_IN/media
report_stats: false
enable_metrics: false
suppress_key_server_warning: true
trusted_key_servers: []
federation_domain_whitelist: []
listeners:
  - port: $PORT
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
$(database_config)
enable_registration: false
registration_shared_secret: "$SECRET"
macaroon_secret_key: "$macaroon"
form_secret: "$form"
bcrypt_rounds: 4
max_upload_size: 10M
url_preview_enabled: false
presence:
  enabled: false
rc_message:
$(rl "$msg_rate" "$msg_burst")
rc_registration:
$(rl $high $high)
rc_registration_token_validity:
$(rl $high $high)
rc_login:
  address:
$(rl $high $high | sed 's/^/  /')
  account:
$(rl $high $high | sed 's/^/  /')
  failed_attempts:
$(rl $high $high | sed 's/^/  /')
rc_admin_redaction:
$(rl $high $high)
rc_joins:
  local:
$(rl $high $high | sed 's/^/  /')
  remote:
$(rl $high $high | sed 's/^/  /')
rc_joins_per_room:
$(rl $high $high)
rc_key_requests:
$(rl $high $high)
rc_3pid_validation:
$(rl $high $high)
rc_invites:
  per_room:
$(rl $high $high | sed 's/^/  /')
  per_user:
$(rl $high $high | sed 's/^/  /')
  per_issuer:
$(rl $high $high | sed 's/^/  /')
rc_third_party_invite:
$(rl $high $high)
rc_media_create:
$(rl $high $high)
rc_presence:
  per_user:
$(rl $high $high | sed 's/^/  /')
rc_delayed_event_mgmt:
$(rl $high $high)
rc_room_creation:
$(rl $high $high)
rc_reports:
$(rl $high $high)
rc_user_directory:
$(rl $high $high)
rc_federation:
  window_size: 1000
  sleep_limit: $high
  sleep_delay: 1
  reject_limit: $high
  concurrent: $high
YAML
}

if [[ "$KEEP_CONFIG" -eq 0 ]]; then
  write_config
fi
chown -R "$SYN_UID:$SYN_GID" "$DATA"
chmod 700 "$DATA"

if ! mountpoint -q "$ROOT/proc"; then
  mount -t proc proc "$ROOT/proc" || die "could not mount /proc in $ROOT"
  touch "$HONOROIT_SYNAPSE_PROC_MARKER"
  log "mounted $ROOT/proc"
fi

CHROOT_BIN="$(command -v chroot)" || die "chroot(8) not found"
as_synapse() {
  env -i HOME=/var/lib/matrix-synapse LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 \
    "$CHROOT_BIN" --userspec="$SYN_UID:$SYN_GID" --groups="$SYN_GID" "$ROOT" "$@"
}

if [[ ! -s "$DATA/signing.key" ]]; then
  as_synapse python3 -m synapse.app.homeserver -c "$DATA_IN/homeserver.yaml" --generate-keys >&2 \
    || die "generating the signing key failed"
fi

rm -f "$DATA/homeserver.pid"
log "starting Synapse $(sed -n 's/^synapse //p' "$ROOT/.honoroit-synapse-ready") on $BASE_URL (profile: $(cat "$DATA/profile"))"
START_NS="$(date +%s%N)"
if ! as_synapse python3 -m synapse.app.homeserver -c "$DATA_IN/homeserver.yaml" --daemonize >"$DATA/stdout.log" 2>&1; then
  cat "$DATA/stdout.log" >&2 || true
  tail -n 30 "$DATA/homeserver.log" >&2 2>/dev/null || true
  die "Synapse failed to start (see $DATA/homeserver.log)"
fi

deadline=$(( $(date +%s) + TIMEOUT ))
while ! http_ok "$BASE_URL/_matrix/client/versions"; do
  pid="$(instance_pid "$PORT" || true)"
  if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
    tail -n 40 "$DATA/homeserver.log" >&2 2>/dev/null || true
    die "Synapse (pid $pid) exited during start-up (see $DATA/homeserver.log)"
  fi
  if [[ "$(date +%s)" -ge "$deadline" ]]; then
    tail -n 40 "$DATA/homeserver.log" >&2 2>/dev/null || true
    "$HERE/stop.sh" --port "$PORT" >&2 || true
    die "Synapse did not answer $BASE_URL/_matrix/client/versions within ${TIMEOUT}s"
  fi
  sleep 0.2
done
ELAPSED_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
PID="$(instance_pid "$PORT")"
log "ready in ${ELAPSED_MS} ms (pid $PID, pid file $DATA/homeserver.pid, log $DATA/homeserver.log)"

ENV_FILE="$DATA/env"
{
  echo "HONOROIT_TEST_HOMESERVER=$BASE_URL"
  echo "HONOROIT_TEST_SYNAPSE_SECRET=$SECRET"
  echo "HONOROIT_TEST_SYNAPSE_ENV_FILE=$ENV_FILE"
  if [[ "$POSTGRES" -eq 1 ]]; then echo "HONOROIT_TEST_SYNAPSE_DATABASE=PostgreSQL"; else echo "HONOROIT_TEST_SYNAPSE_DATABASE=SQLite"; fi
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
chmod 600 "$ENV_FILE"
log "env written to $ENV_FILE"
cat "$ENV_FILE"
