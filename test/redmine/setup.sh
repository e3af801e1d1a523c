#!/usr/bin/env bash
# Install Debian's Redmine with SQLite for the integration tests, unattended, and add a web
# server (webrick) to it. Idempotent: a complete installation is left as it is.
# Needs root (apt-get). Each instance's data is made by start.sh.
set -euo pipefail

log() { echo "[redmine-setup] $*" >&2; }
die() { echo "[redmine-setup] ERROR: $*" >&2; exit 1; }

[[ "$(id -u)" -eq 0 ]] || die "must run as root (apt-get needs it)"


HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"
TEMPLATE="$(instance_dir template)"
if [[ -f "$RM/.honoroit-ready" && -f "$TEMPLATE/ready" ]]; then
  log "Redmine ready ($(cat "$RM/.honoroit-ready"))"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# dbconfig-common creates the package's own SQLite database without asking; the tests use
# databases of their own (start.sh), this one only lets the package configure.
debconf-set-selections <<'DEBCONF'
redmine redmine/current-instances string default
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/default-language select en
DEBCONF

if [[ "$(dpkg-query -W -f='${Status}\n' redmine redmine-sqlite ruby-webrick 2>/dev/null | grep -c 'install ok installed')" -eq 3 ]]; then
  log "packages already installed"
else
  log "installing redmine, redmine-sqlite and ruby-webrick"
  apt-get install -y -q --no-install-recommends redmine redmine-sqlite ruby-webrick >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends redmine redmine-sqlite ruby-webrick >&2; } \
    || die "apt-get install failed"
fi

# The package brings no web server: webrick, from Debian, through Gemfile.local.
if ! grep -qs "gem 'webrick'" "$RM/Gemfile.local"; then
  echo "gem 'webrick'" >>"$RM/Gemfile.local"
fi
(cd "$RM" && bundle install --local >&2) || die "bundle install --local failed"

version="$(dpkg-query -W -f='${Version}' redmine)"
echo "redmine $version" >"$RM/.honoroit-ready"

# A configured database every instance starts from (start.sh copies it): the package's own
# database (migrated, default data loaded), then configure.rb with fixed test API keys.
log "preparing the template instance in $TEMPLATE"
rm -rf --one-file-system "$TEMPLATE"
make_instance template
cp "$DBCONFIG_DB" "$TEMPLATE/db/redmine.sqlite3"
chown www-data:www-data "$TEMPLATE/db/redmine.sqlite3"
cp "$HERE/configure.rb" "$TEMPLATE/configure.rb"
(as_redmine template "$RM/bin/rails" runner -e production "$TEMPLATE/configure.rb" "$BOT_KEY" "$HUMAN_KEY") >&2 \
  || die "configuring the template failed"
touch "$TEMPLATE/ready"
log "Redmine $version ready"
