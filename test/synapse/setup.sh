#!/usr/bin/env bash
# Prepare a Debian sid chroot with matrix-synapse installed, for the
# integration tests. Idempotent: an existing, complete chroot is reused.
#
# Location: $HONOROIT_TEST_SYNAPSE_ROOT, default $HOME/.cache/honoroit-test/synapse-sid
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

ROOT="${HONOROIT_TEST_SYNAPSE_ROOT:-${HOME:-/root}/.cache/honoroit-test/synapse-sid}"
MIRROR="${HONOROIT_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${HONOROIT_TEST_DEBIAN_SUITE:-sid}"
READY="$ROOT/.honoroit-synapse-ready"

log() { echo "[synapse-setup] $*" >&2; }
die() { echo "[synapse-setup] ERROR: $*" >&2; exit 1; }

if [[ "$(id -u)" -ne 0 ]]; then
  die "must run as root (debootstrap/chroot/mount need it)"
fi

if [[ -f "$READY" && -x "$ROOT/usr/bin/python3" && -d "$ROOT/usr/lib/python3/dist-packages/synapse" ]]; then
  log "chroot ready at $ROOT ($(cat "$READY"))"
  exit 0
fi

MOUNTED_PROC=0
cleanup() {
  if [[ "$MOUNTED_PROC" -eq 1 ]]; then
    umount "$ROOT/proc" 2>/dev/null || umount -l "$ROOT/proc" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap on the host"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || die "apt-get update failed on the host"
  apt-get install -y -q debootstrap >&2 || die "could not install debootstrap on the host"
fi

if [[ ! -x "$ROOT/usr/bin/apt-get" || ! -f "$ROOT/.honoroit-debootstrap-done" ]]; then
  if [[ -e "$ROOT" ]]; then
    log "removing incomplete chroot at $ROOT"
    if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc" || umount -l "$ROOT/proc"; fi
    rm -rf --one-file-system "$ROOT"
  fi
  mkdir -p "$(dirname "$ROOT")"
  log "debootstrap $SUITE (minbase) into $ROOT from $MIRROR"
  debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >&2 \
    || die "debootstrap failed (see output above)"
  touch "$ROOT/.honoroit-debootstrap-done"
fi

log "configuring apt and service policy inside the chroot"
mkdir -p "$ROOT/etc/apt/apt.conf.d" "$ROOT/usr/sbin"
cat >"$ROOT/etc/apt/apt.conf.d/99honoroit-test" <<'APT'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
# Name resolution for apt inside the chroot.
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

if ! mountpoint -q "$ROOT/proc"; then
  mount -t proc proc "$ROOT/proc" || die "could not mount /proc in the chroot"
  MOUNTED_PROC=1
fi

in_chroot() { DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$ROOT" "$@"; }

log "apt-get update (chroot)"
in_chroot apt-get update -q >&2 || die "apt-get update failed inside the chroot"

log "preseeding matrix-synapse debconf answers"
in_chroot debconf-set-selections <<'SEL' || die "debconf-set-selections failed"
matrix-synapse matrix-synapse/server-name string localhost
matrix-synapse matrix-synapse/report-stats boolean false
SEL

log "installing matrix-synapse (chroot)"
in_chroot apt-get install -y -q --no-install-recommends matrix-synapse ca-certificates >&2 \
  || die "apt-get install matrix-synapse failed inside the chroot"
in_chroot apt-get clean >&2 || true

VERSION="$(in_chroot python3 -c 'import synapse; print(synapse.__version__)' 2>/dev/null)" \
  || die "synapse is not importable inside the chroot"
in_chroot id matrix-synapse >/dev/null 2>&1 || die "user matrix-synapse missing in the chroot"

echo "synapse $VERSION" >"$READY"
log "done: synapse $VERSION installed in $ROOT"
