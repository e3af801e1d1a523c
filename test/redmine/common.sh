# Shared by setup.sh, start.sh and stop.sh: where instances live and how Redmine runs.
# Each instance is a Debian Redmine "instance" (REDMINE_INSTANCE) of its own: its database,
# files, logs and secret under /var/lib/redmine/honoroit-<name>.
RM=/usr/share/redmine
REDMINE_INSTANCES=/var/lib/redmine
DBCONFIG_DB=/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default
HONOROIT_REDMINE_DEFAULT_PORT="${HONOROIT_TEST_REDMINE_PORT:-18030}"
# Fixed keys of the test users (configure.rb): the bot's API user and a human operator.
BOT_KEY=0a11b0b0000000000000000000000000000b0700
HUMAN_KEY=0a11b0b0000000000000000000000000000011fe

instance_dir() { echo "$REDMINE_INSTANCES/honoroit-$1"; }

make_instance() {
  local dir
  dir="$(instance_dir "$1")"
  mkdir -p "$dir/config" "$dir/db" "$dir/files" "$dir/log" "$dir/tmp/cache" "$dir/tmp/pids" "$dir/public/plugin_assets"
  cat >"$dir/config/database.yml" <<YAML
production:
  adapter: sqlite3
  database: $dir/db/redmine.sqlite3
  # Parallel writers wait for each other instead of failing with "database is locked".
  timeout: 10000
  encoding: utf8
YAML
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/config/secret_key.txt"
  # One request at a time: Redmine on SQLite is not safe with parallel writes.
  cat >"$dir/config.ru" <<RUBY
require '$RM/config/environment'
use Rack::Lock
run Rails.application
RUBY
  chown -R www-data:www-data "$dir"
}

# Runs a command as www-data in instance $1's environment (in UTC, which the API's times use).
# It execs, so a caller that puts it in the background gets the command's own pid.
as_redmine() {
  local name="$1"
  shift
  cd "$RM"
  exec env -i HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TZ=UTC RAILS_ENV=production \
    REDMINE_INSTANCE="honoroit-$name" setpriv --reuid=www-data --regid=www-data --init-groups "$@"
}
