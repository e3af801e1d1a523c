# Shared settings for the Synapse test harness scripts (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

HONOROIT_SYNAPSE_ROOT="${HONOROIT_TEST_SYNAPSE_ROOT:-${HOME:-/root}/.cache/honoroit-test/synapse-sid}"
# Directory (inside the chroot) that holds one sub-directory per instance.
HONOROIT_SYNAPSE_INSTANCES_IN_CHROOT="/var/lib/honoroit-test"
HONOROIT_SYNAPSE_INSTANCES="$HONOROIT_SYNAPSE_ROOT$HONOROIT_SYNAPSE_INSTANCES_IN_CHROOT"
# Marker: /proc inside the chroot was mounted by start.sh (so stop.sh may unmount it).
HONOROIT_SYNAPSE_PROC_MARKER="$HONOROIT_SYNAPSE_ROOT/.honoroit-proc-mounted"
HONOROIT_SYNAPSE_DEFAULT_PORT="${HONOROIT_TEST_SYNAPSE_PORT:-18008}"

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/stat" ]] || return 1
  # Field 3 of /proc/PID/stat is the state; the command name (field 2) may contain spaces,
  # so strip everything up to the last ')'.
  state="$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n "$state" && "$state" != "Z" && "$state" != "X" ]]
}

# instance_pid PORT: prints the pid recorded for the instance on PORT (may be stale).
instance_pid() {
  local f="$HONOROIT_SYNAPSE_INSTANCES/$1/homeserver.pid"
  [[ -s "$f" ]] && tr -dc '0-9' <"$f"
}

# instance_running PORT: true if the instance on PORT has a live homeserver process.
instance_running() {
  local pid
  pid="$(instance_pid "$1")" || return 1
  pid_alive "$pid" || return 1
  # Guard against pid reuse: the process must be a Synapse homeserver rooted in our chroot.
  grep -qa "synapse.app.homeserver" "/proc/$pid/cmdline" 2>/dev/null || return 1
  [[ "$(readlink "/proc/$pid/root" 2>/dev/null)" == "$(readlink -f "$HONOROIT_SYNAPSE_ROOT")" ]]
}

# any_instance_running: true if any instance started by start.sh is running.
any_instance_running() {
  local dir
  [[ -d "$HONOROIT_SYNAPSE_INSTANCES" ]] || return 1
  for dir in "$HONOROIT_SYNAPSE_INSTANCES"/*/; do
    [[ -d "$dir" ]] || continue
    instance_running "$(basename "$dir")" && return 0
  done
  return 1
}
