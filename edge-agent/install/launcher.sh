#!/bin/sh
# Outpost agent launcher, installed as /opt/outpost-agent/launcher and run by
# outpost-agent.service. It is small and fixed: OTA updates replace the agent in a slot
# (/opt/outpost-agent/a or b), never this file.
#
#   launcher [--root DIR] [--state-dir DIR] [--max-attempts N] [--count-only | --no-count]
#            [-- AGENT-RUN-ARGS...]
#
# outpost-agent.service splits it in two: `ExecStartPre=+launcher --count-only` does steps 1-2
# as root (a rollback rewrites /opt/outpost-agent/current, which the agent's user cannot), and
# `ExecStart=launcher --no-count` does step 3 as the outpost-agent user. Without either flag it
# does all three (by hand, tests).
#
# What it does on every start:
#   1. reads STATE/boot-attempts (missing or unreadable = 0), adds 1 and writes it back
#      (atomically) BEFORE starting the agent;
#   2. when that count exceeds the limit (default 3, --max-attempts or
#      OUTPOST_AGENT_MAX_BOOT_ATTEMPTS) and the other slot holds an agent, rolls back:
#      points `current` at the other slot (ln -s + mv -T, atomic), writes
#      STATE/rollback ("FROM TO EPOCH-SECONDS") and sets the count to 1 — unless
#      STATE/rollback already names that other slot as the one rolled back FROM (both slots
#      failing: it keeps starting the current one instead of flip-flopping);
#   3. execs `node NODE-FLAGS SLOT/dist/src/main.js run --state-dir STATE [ARGS]` with
#      OUTPOST_AGENT_SLOT=a|b in the environment (node: OUTPOST_AGENT_NODE, else from PATH).
#      NODE-FLAGS keep V8 small on a device: a 1 MB young generation, a 32 MB old one (the
#      agent's steady heap is ~11 MB, ~12 MB draining a full 64 MiB outbox), and lite mode (no
#      optimising compilers: ~5 MB less RSS and no more CPU at 10-100 metrics/s; it implies no
#      WebAssembly, hence --no-expose-wasm on Node 20 and 22 (24 refuses it: the launcher asks
#      node for its version), so nothing in the agent may use fetch() — it uses
#      node:https). OUTPOST_AGENT_NODE_FLAGS replaces them (set it in
#      the unit, e.g. `systemctl edit outpost-agent` → Environment=OUTPOST_AGENT_NODE_FLAGS=...;
#      an empty value runs node with its defaults). They are node options, not agent.json
#      keys: they must be known before node starts. OUTPOST_AGENT_EMULATOR (tests only, as in
#      install.sh: e.g. 'qemu-aarch64-static -L SYSROOT') is put before node, flags and all.
#
# The contract with the agent (for OTA):
#   - the agent writes `0` to STATE/boot-attempts (temp file + rename) once it is running
#     and connected to the broker (its first CONNACK) — that is what "healthy" means; a
#     version that never gets there is rolled back after N starts. One exception, so that an
#     unreachable server never rolls back a good update: a new version whose connection
#     attempts all failed to reach the broker (no TCP + TLS) by the job's confirmDeadlineS
#     passes its health check, commits the update locally and writes `0` too
#     (src/ota/ota-engine.ts); and, when no agent update is on trial, a version that has
#     run `--stable-after` (default 10 min) without a crash writes `0` even offline, so a
#     device without its server for days may restart any number of times and keep its
#     agent (src/runtime/agent-runtime.ts);
#   - the agent reads STATE/rollback at start, reports the rollback (OtaProgress
#     `rolled-back`) and then deletes the file;
#   - OTA activates a version by installing it into the slot `current` does not point to,
#     switching `current` the same atomic way, writing 0 to boot-attempts, deleting
#     STATE/rollback, and exiting so systemd starts it again (Restart=always).
set -eu

ROOT=""
STATE=""
MAX_ATTEMPTS=${OUTPOST_AGENT_MAX_BOOT_ATTEMPTS:-3}
MAIN=dist/src/main.js
COUNT=1
RUN=1

log() { printf 'outpost-agent launcher: %s\n' "$*" >&2; }
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
    --max-attempts)
      [ $# -ge 2 ] || die '--max-attempts needs a number'
      MAX_ATTEMPTS=$2
      shift 2
      ;;
    --count-only)
      RUN=0
      shift
      ;;
    --no-count)
      COUNT=0
      shift
      ;;
    --)
      shift
      break
      ;;
    *) break ;;
  esac
done
case $MAX_ATTEMPTS in '' | *[!0-9]*) die "the boot attempt limit must be a whole number, not '$MAX_ATTEMPTS'" ;; esac

HOME_DIR=$ROOT/opt/outpost-agent
STATE=${STATE:-$ROOT/var/lib/outpost-agent}
NODE=${OUTPOST_AGENT_NODE:-node}
EMULATOR=${OUTPOST_AGENT_EMULATOR:-}
case $EMULATOR in *[!A-Za-z0-9/_.=,\ -]*) die "OUTPOST_AGENT_EMULATOR may hold only a command and its options (letters, digits, / _ . = , - and spaces), not '$EMULATOR'" ;; esac
if [ "${OUTPOST_AGENT_NODE_FLAGS+set}" = set ]; then
  NODE_FLAGS=$OUTPOST_AGENT_NODE_FLAGS
else
  NODE_FLAGS='--max-semi-space-size=1 --max-old-space-size=32 --lite-mode'
  # Node 20 and 22 take --no-expose-wasm (without it, 20 warns that lite mode disables
  # WebAssembly); Node 24 refuses the option (its lite mode leaves WebAssembly out by itself),
  # so the version decides. Whatever does not say a version keeps the older set.
  node_major=$($EMULATOR "$NODE" --version 2>/dev/null || true)
  node_major=${node_major#v}
  node_major=${node_major%%.*}
  case $node_major in '' | *[!0-9]*) node_major=0 ;; esac
  [ "$node_major" -ge 23 ] || NODE_FLAGS="$NODE_FLAGS --no-expose-wasm"
fi
case $NODE_FLAGS in *[!A-Za-z0-9=_.,\ -]*) die "OUTPOST_AGENT_NODE_FLAGS may hold only node options (letters, digits, = _ . , - and spaces), not '$NODE_FLAGS'" ;; esac

[ -L "$HOME_DIR/current" ] || die "no agent installed: $HOME_DIR/current is missing (run install.sh from a bundle)"
current=$(readlink "$HOME_DIR/current")
current=${current##*/}
[ -f "$HOME_DIR/$current/$MAIN" ] || die "$HOME_DIR/current points to slot '$current', which holds no $MAIN"

if [ "$COUNT" = 0 ]; then
  [ "$RUN" = 1 ] || die '--count-only and --no-count together do nothing'
  OUTPOST_AGENT_SLOT=$current
  export OUTPOST_AGENT_SLOT
  # shellcheck disable=SC2086 # several options, split on spaces; no glob characters (checked above)
  exec $EMULATOR "$NODE" $NODE_FLAGS "$HOME_DIR/$current/$MAIN" run --state-dir "$STATE" "$@"
fi

(umask 077 && mkdir -p "$STATE")

# Writes STATE/NAME atomically: a fresh temp file (mktemp: never one the agent's user placed
# there, nor a symlink it planted, since this part runs as root) renamed over NAME.
put_state() {
  tmp=$(mktemp "$STATE/.$1.XXXXXX")
  printf '%s\n' "$2" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$STATE/$1"
}

attempts=0
if [ -f "$STATE/boot-attempts" ]; then
  attempts=$(head -n 1 "$STATE/boot-attempts" 2>/dev/null || true)
fi
case $attempts in '' | *[!0-9]*) attempts=0 ;; esac
attempts=$((attempts + 1))

if [ "$attempts" -gt "$MAX_ATTEMPTS" ]; then
  case $current in
    a) other=b ;;
    b) other=a ;;
    *) other="" ;;
  esac
  rolled_from=""
  if [ -f "$STATE/rollback" ]; then
    read -r rolled_from _rest <"$STATE/rollback" || true
  fi
  if [ -n "$other" ] && [ -f "$HOME_DIR/$other/$MAIN" ] && [ "$other" != "$rolled_from" ]; then
    log "slot $current started $((attempts - 1)) times without becoming healthy: rolling back to slot $other"
    ln -s "$other" "$HOME_DIR/current.launcher.$$"
    mv -T "$HOME_DIR/current.launcher.$$" "$HOME_DIR/current"
    put_state rollback "$current $other $(date +%s)"
    current=$other
    attempts=1
  else
    log "slot $current started $((attempts - 1)) times without becoming healthy; no other slot to roll back to"
  fi
fi

put_state boot-attempts "$attempts"
[ "$RUN" = 1 ] || exit 0

OUTPOST_AGENT_SLOT=$current
export OUTPOST_AGENT_SLOT
# shellcheck disable=SC2086 # as above
exec $EMULATOR "$NODE" $NODE_FLAGS "$HOME_DIR/$current/$MAIN" run --state-dir "$STATE" "$@"
