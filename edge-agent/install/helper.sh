#!/bin/sh
# Outpost agent helper, installed as /opt/outpost-agent/helper (root-owned, 0755). The agent
# runs as the unprivileged user outpost-agent; the only things it may have done as root are
# these fixed verbs, nothing else and no arguments of its choosing:
#
#   helper [--root DIR] [--state-dir DIR] request reboot|switch-slot-a|switch-slot-b|install-slot-a|install-slot-b
#       (as the agent) asks for it: writes STATE/helper-request atomically. systemd's
#       outpost-agent-helper.path sees the file and starts outpost-agent-helper.service,
#       which runs `helper run-request` as root.
#   helper [--root DIR] [--state-dir DIR] run-request
#       (root) reads and removes STATE/helper-request and does what it names, if it is one of
#       the verbs; anything else is refused and logged (its content is never echoed).
#   helper [--root DIR] [--state-dir DIR] switch-slot-a | switch-slot-b
#       (root) points /opt/outpost-agent/current at that slot (only when it holds an agent),
#       atomically, with a clean boot count and no pending rollback report — how OTA activates
#       a version; the agent then exits and systemd starts the new one.
#   helper [--root DIR] [--state-dir DIR] install-slot-a | install-slot-b
#       (root) an agent self-update (OTA): the agent, which cannot write /opt/outpost-agent,
#       verified the signed artifact and unpacked it into STATE/ota/next-slot; this copies that
#       (symlinks as links, never followed) into the slot — never the running one — owned by
#       root, removes STATE/ota/next-slot and switches to the slot as switch-slot does. The
#       slot's code runs as the agent's user, as before: nothing gains root by it.
#   helper reboot
#       (root) reboots the device (OUTPOST_AGENT_REBOOT_COMMAND, default 'systemctl reboot';
#       only the root unit's environment can set it).
set -eu

ROOT=""
STATE=""
MAIN=dist/src/main.js

log() { printf 'outpost-agent helper: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --root)
      [ $# -ge 2 ] || die '--root needs a directory'
      ROOT=${2%/}
      shift 2
      ;;
    --state-dir)
      [ $# -ge 2 ] || die '--state-dir needs a directory'
      STATE=$2
      shift 2
      ;;
    *) break ;;
  esac
done
HOME_DIR=$ROOT/opt/outpost-agent
STATE=${STATE:-$ROOT/var/lib/outpost-agent}
REQUEST=$STATE/helper-request

is_verb() {
  case $1 in reboot | switch-slot-a | switch-slot-b | install-slot-a | install-slot-b) return 0 ;; *) return 1 ;; esac
}
VERBS='reboot, switch-slot-a, switch-slot-b, install-slot-a, install-slot-b'

switch_slot() {
  slot=$1
  [ -f "$HOME_DIR/$slot/$MAIN" ] || die "slot $slot holds no agent ($HOME_DIR/$slot/$MAIN): not switching"
  ln -s "$slot" "$HOME_DIR/current.helper.$$"
  mv -T "$HOME_DIR/current.helper.$$" "$HOME_DIR/current"
  tmp=$(mktemp "$STATE/.boot-attempts.XXXXXX")
  printf '0\n' >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$STATE/boot-attempts"
  rm -f "$STATE/rollback"
  log "current -> slot $slot"
}

install_slot() {
  slot=$1
  next=$STATE/ota/next-slot
  { [ -d "$next" ] && [ ! -L "$next" ]; } || die "$next is missing or not a directory: nothing to install"
  [ -f "$next/$MAIN" ] || die "$next holds no $MAIN: not installing"
  running=$(readlink "$HOME_DIR/current" 2>/dev/null || true)
  [ "${running##*/}" != "$slot" ] || die "slot $slot is the running one: not installing over it"
  staged=$HOME_DIR/.$slot.helper.$$
  rm -rf "$staged"
  cp -RP "$next" "$staged"
  if [ "$(id -u)" = 0 ]; then chown -R 0:0 "$staged"; fi
  chmod -R go-w "$staged"
  rm -rf "$HOME_DIR/$slot"
  mv "$staged" "$HOME_DIR/$slot"
  rm -rf "$next"
  log "installed the new agent into slot $slot"
  switch_slot "$slot"
}

run_verb() {
  case $1 in
    switch-slot-a) switch_slot a ;;
    switch-slot-b) switch_slot b ;;
    install-slot-a) install_slot a ;;
    install-slot-b) install_slot b ;;
    reboot)
      log 'rebooting'
      exec /bin/sh -c "${OUTPOST_AGENT_REBOOT_COMMAND:-systemctl reboot}"
      ;;
  esac
}

[ $# -ge 1 ] || die "usage: helper [--root DIR] [--state-dir DIR] request VERB | run-request | VERB (verbs: $VERBS)"
case $1 in
  request)
    [ $# -eq 2 ] && is_verb "$2" || die "request takes one of $VERBS"
    tmp=$(mktemp "$STATE/.helper-request.XXXXXX")
    printf '%s\n' "$2" >"$tmp"
    mv -f "$tmp" "$REQUEST"
    log "asked for $2"
    ;;
  run-request)
    [ $# -eq 1 ] || die 'run-request takes no arguments'
    # The agent's user owns STATE: never follow a link it placed, read at most one short line.
    if [ -L "$REQUEST" ] || [ ! -f "$REQUEST" ]; then
      rm -f "$REQUEST"
      die "$REQUEST is missing or not a plain file: nothing done"
    fi
    verb=$(head -c 32 "$REQUEST" | head -n 1)
    rm -f "$REQUEST"
    is_verb "$verb" || die "refused a request that is none of $VERBS"
    run_verb "$verb"
    ;;
  *)
    [ $# -eq 1 ] && is_verb "$1" || die "unknown verb '$1' (verbs: $VERBS; request VERB; run-request)"
    run_verb "$1"
    ;;
esac
