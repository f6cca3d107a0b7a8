#!/bin/sh
# Installs the Outpost edge agent from an extracted bundle (outpost agent bundle), then
# enrolls the device with the bundle's one-time token and starts the agent under systemd.
#
#   sudo sh outpost-bundle/install.sh [--root DIR] [--no-systemd] [--no-enroll] [--runtime auto|bundled|system]
#
#   --root DIR     prefix every path with DIR (an image being prepared, or a test)
#   --no-systemd   do not install, enable or start the systemd units
#   --no-enroll    do not enroll (outpost-agent enroll can be run later)
#   --runtime R    which Node.js runs the agent: the bundle's own (bundled), the system's
#                  (system), or auto (default): the system's when it is 20 or newer, else the bundle's
#
# Layout: the agent in /opt/outpost-agent/a or b (slots), /opt/outpost-agent/current -> the
# active slot, the launcher in /opt/outpost-agent/launcher and the root helper (reboot, slot
# switch) in /opt/outpost-agent/helper, all root-owned; state (keys, certificate, CA,
# agent.json, outbox) in /var/lib/outpost-agent (0700), owned by the system user
# outpost-agent, which the agent runs as (created here; with --root, in DIR/etc/passwd).
# A bundle made with --arch carries Node.js (runtime/: bin/node, LICENSE, runtime.json); when it
# is used it goes to /opt/outpost-agent/runtime (root-owned, outside the slots: an agent update
# never replaces it) and the unit runs the agent with it.
# OUTPOST_AGENT_EMULATOR (tests only): a command put before every node it runs, e.g.
# 'qemu-aarch64-static -L SYSROOT' to run an arm64 bundle on an x86-64 machine; with it the
# runtime's architecture is not checked against this machine's. The launcher honours it too.
# Idempotent: a second run with the
# same bundle changes nothing and says so. A different agent goes to the slot `current` does
# not point to, and `current` switches atomically, so a running install is never broken and
# the launcher can roll back to the previous slot.
set -eu
# useradd and systemctl live in sbin, which a plain user's PATH (sudo -E, a test) may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH

ROOT=""
SYSTEMD=1
ENROLL=1
RUNTIME=auto
MAIN=dist/src/main.js
# The agent's real minimum: Node.js 20.0 (its tests pass under the official 20.0.0 and 20.11.1
# builds; 20.11 is the newest for armv7l). Its libraries (pino 10) support 20 and later.
NODE_MIN_MAJOR=20
AGENT_USER=outpost-agent

say() { printf 'outpost-agent install: %s\n' "$*"; }
die() {
  printf 'outpost-agent install: error: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --root)
      [ $# -ge 2 ] || die '--root needs a directory'
      ROOT=${2%/}
      shift 2
      ;;
    --root=*)
      ROOT=${1#--root=}
      ROOT=${ROOT%/}
      shift
      ;;
    --no-systemd)
      SYSTEMD=0
      shift
      ;;
    --no-enroll)
      ENROLL=0
      shift
      ;;
    --runtime)
      [ $# -ge 2 ] || die '--runtime needs auto, bundled or system'
      RUNTIME=$2
      shift 2
      ;;
    --runtime=*)
      RUNTIME=${1#--runtime=}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

case $RUNTIME in auto | bundled | system) ;; *) die "--runtime must be auto, bundled or system, not '$RUNTIME'" ;; esac
EMULATOR=${OUTPOST_AGENT_EMULATOR:-}
case $EMULATOR in *[!A-Za-z0-9/_.=,\ -]*) die "OUTPOST_AGENT_EMULATOR may hold only a command and its options (letters, digits, / _ . = , - and spaces), not '$EMULATOR'" ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
AGENT_HOME=$ROOT/opt/outpost-agent
STATE=$ROOT/var/lib/outpost-agent
UNIT_DIR=$ROOT/etc/systemd/system
CHANGED=0

[ -f "$HERE/bundle.json" ] && [ -f "$HERE/agent/$MAIN" ] || die "$HERE is not an extracted Outpost bundle (bundle.json and agent/$MAIN expected)"
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
elif [ "$(id -u)" != 0 ]; then
  die "run it as root (sudo sh $0): it writes /opt/outpost-agent, /var/lib/outpost-agent and the systemd units"
fi


# Copies FROM to TO (mode MODE) unless TO already has the same bytes; answers 0 when it wrote.
put_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    chmod "$3" "$2"
    return 1
  fi
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  return 0
}

# Writes TEXT (plus a newline) to TO (mode MODE) unless TO already holds it; answers 0 when it wrote.
put_text() {
  if [ -f "$2" ] && [ "$(cat "$2")" = "$1" ]; then
    chmod "$3" "$2"
    return 1
  fi
  mkdir -p "$(dirname "$2")"
  printf '%s\n' "$1" >"$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  return 0
}

# Points LINK at TARGET atomically (a new link renamed over the old one).
switch_link() {
  ln -s "$2" "$1.tmp.$$"
  mv -T "$1.tmp.$$" "$1"
}

# --- Node.js ------------------------------------------------------------------------------
# Runs the chosen node (through OUTPOST_AGENT_EMULATOR when set).
run_node() {
  # shellcheck disable=SC2086 # the emulator and its options, split on spaces (characters checked above)
  if [ -n "$EMULATOR" ]; then $EMULATOR "$NODE" "$@"; else "$NODE" "$@"; fi
}
# The major version NODE reports, or nothing when it does not run.
node_major() {
  v=$(run_node --version 2>/dev/null || true)
  v=${v#v}
  v=${v%%.*}
  case $v in '' | *[!0-9]*) ;; *) printf '%s' "$v" ;; esac
}
# This machine's architecture in Node's words (uname -m: aarch64, armv7l, x86_64).
machine_arch() {
  case $(uname -m) in
    aarch64 | arm64) echo arm64 ;;
    armv7l | armv8l) echo armv7l ;;
    x86_64 | amd64) echo x64 ;;
    *) uname -m ;;
  esac
}

SYSTEM_NODE=$(command -v node 2>/dev/null || true)
SYSTEM_WHY=""
if [ -z "$SYSTEM_NODE" ]; then
  SYSTEM_WHY="node was not found on PATH: install Node.js $NODE_MIN_MAJOR or newer (e.g. 'apt install nodejs' or https://nodejs.org) and run this again"
else
  NODE=$SYSTEM_NODE
  NODE_VERSION=$("$NODE" --version 2>/dev/null || true)
  major=$(EMULATOR='' node_major)
  if [ -z "$major" ]; then
    SYSTEM_WHY="could not read the version of $NODE (it printed '$NODE_VERSION'); the agent needs Node.js $NODE_MIN_MAJOR or newer"
  elif [ "$major" -lt "$NODE_MIN_MAJOR" ]; then
    SYSTEM_WHY="Node.js $NODE_VERSION at $NODE is too old: the agent needs Node.js $NODE_MIN_MAJOR or newer"
  fi
fi
BUNDLED_ARCH=""
if [ -f "$HERE/runtime/bin/node" ] && [ -f "$HERE/runtime/runtime.json" ]; then
  BUNDLED_ARCH=$(sed -n 's/^ *"arch": *"\([a-z0-9]*\)".*/\1/p' "$HERE/runtime/runtime.json")
  BUNDLED_VERSION=$(sed -n 's/^ *"version": *"\([0-9.]*\)".*/\1/p' "$HERE/runtime/runtime.json")
fi
use=$RUNTIME
if [ "$use" = auto ]; then
  if [ -z "$SYSTEM_WHY" ]; then use=system; elif [ -n "$BUNDLED_ARCH" ]; then use=bundled; else use=none; fi
fi
case $use in
  none) die "$SYSTEM_WHY; or use a bundle that carries Node.js (outpost agent bundle --arch $(machine_arch))" ;;
  system)
    [ -z "$SYSTEM_WHY" ] || die "$SYSTEM_WHY (--runtime system)"
    NODE_UNIT=$NODE
    say "using the system's Node.js $NODE_VERSION ($NODE)"
    ;;
  bundled)
    [ -n "$BUNDLED_ARCH" ] || die "this bundle carries no Node.js runtime (--runtime bundled): make one with outpost agent bundle --arch $(machine_arch)"
    if [ -z "$EMULATOR" ] && [ "$BUNDLED_ARCH" != "$(machine_arch)" ]; then
      die "the bundle's Node.js is for $BUNDLED_ARCH, but this machine is $(uname -m) ($(machine_arch)): make a bundle with --arch $(machine_arch)${SYSTEM_WHY:+ ($SYSTEM_WHY)}"
    fi
    for f in bin/node LICENSE runtime.json; do
      mode=0644
      [ "$f" != bin/node ] || mode=0755
      if put_file "$HERE/runtime/$f" "$AGENT_HOME/runtime/$f" "$mode"; then RUNTIME_CHANGED=1; fi
    done
    NODE=$AGENT_HOME/runtime/bin/node
    NODE_UNIT=/opt/outpost-agent/runtime/bin/node
    NODE_VERSION=$(run_node --version 2>/dev/null || true)
    major=$(node_major)
    [ -n "$major" ] || die "the bundle's Node.js ($BUNDLED_ARCH) does not run here: $NODE --version failed (a 32-bit ARM runtime needs an armv7 CPU; a Pi Zero or Pi 1 is armv6)"
    [ "$major" -ge "$NODE_MIN_MAJOR" ] || die "the bundle's Node.js $NODE_VERSION is too old: the agent needs $NODE_MIN_MAJOR or newer"
    if [ "${RUNTIME_CHANGED:-0}" = 1 ]; then
      say "installed the bundle's Node.js $BUNDLED_VERSION ($BUNDLED_ARCH) into $AGENT_HOME/runtime${SYSTEM_WHY:+ ($SYSTEM_WHY)}"
      CHANGED=1
    else
      say "using the bundle's Node.js $BUNDLED_VERSION ($BUNDLED_ARCH), already in $AGENT_HOME/runtime"
    fi
    ;;
esac

# A field of bundle.json (strings only).
field() {
  run_node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = b[process.argv[2]]; if (typeof v !== "string") process.exit(3); process.stdout.write(v);' "$HERE/bundle.json" "$1" ||
    die "bundle.json has no '$1'"
}
VERSION=$(field agentVersion)
SERVER=$(field server)
GROUP=$(field group)

# --- the agent, into a slot -----------------------------------------------------------------
mkdir -p "$AGENT_HOME"
current=""
if [ -L "$AGENT_HOME/current" ]; then
  current=$(readlink "$AGENT_HOME/current")
  current=${current##*/}
fi
if [ -n "$current" ] && [ -d "$AGENT_HOME/$current" ] && diff -r -q "$HERE/agent" "$AGENT_HOME/$current" >/dev/null 2>&1; then
  say "agent $VERSION is already installed (slot $current)"
else
  if [ "$current" = a ]; then slot=b; else slot=a; fi
  rm -rf "$AGENT_HOME/$slot.new"
  cp -R "$HERE/agent" "$AGENT_HOME/$slot.new"
  rm -rf "$AGENT_HOME/$slot"
  mv "$AGENT_HOME/$slot.new" "$AGENT_HOME/$slot"
  switch_link "$AGENT_HOME/current" "$slot"
  # A fresh activation starts with a clean boot count and no pending rollback report.
  mkdir -p "$STATE"
  printf '0\n' >"$STATE/boot-attempts"
  rm -f "$STATE/rollback"
  if [ -n "$current" ]; then
    say "installed agent $VERSION into slot $slot; current -> $slot (slot $current kept for rollback)"
  else
    say "installed agent $VERSION into slot $slot; current -> $slot"
  fi
  CHANGED=1
fi

if put_file "$HERE/launcher.sh" "$AGENT_HOME/launcher" 0755; then
  say "installed the launcher: $AGENT_HOME/launcher"
  CHANGED=1
fi
if put_file "$HERE/helper.sh" "$AGENT_HOME/helper" 0755; then
  say "installed the root helper (reboot, slot switch only): $AGENT_HOME/helper"
  CHANGED=1
fi

# --- the agent's system user ------------------------------------------------------------------
# The agent never runs as root: a configuration from the platform must not be a root shell.
user_ids() { [ -f "$ROOT/etc/passwd" ] && awk -F: -v u="$AGENT_USER" '$1 == u { print $3 ":" $4 }' "$ROOT/etc/passwd" || true; }
if [ -z "$(user_ids)" ]; then
  nologin=/usr/sbin/nologin
  [ -x "$ROOT$nologin" ] || [ ! -x "$ROOT/sbin/nologin" ] || nologin=/sbin/nologin
  set -- --system --user-group --no-create-home --home-dir /var/lib/outpost-agent --shell "$nologin" --comment 'Outpost edge agent' "$AGENT_USER"
  if ! command -v useradd >/dev/null 2>&1; then
    why='useradd was not found'
  elif [ -n "$ROOT" ]; then
    mkdir -p "$ROOT/etc"
    # --prefix edits DIR/etc/* directly (shadow 4.9+); older useradd only has --root (chroot).
    why=$(useradd --prefix "$ROOT" "$@" 2>&1 >/dev/null) || why=$(useradd --root "$ROOT" "$@" 2>&1 >/dev/null) || true
  else
    why=$(useradd "$@" 2>&1 >/dev/null) || true
  fi
  if [ -n "$(user_ids)" ]; then
    say "created the system user $AGENT_USER (no login) in $ROOT/etc/passwd; the agent runs as it"
    CHANGED=1
  elif [ -n "$ROOT" ]; then
    say "note: could not create the system user $AGENT_USER in $ROOT/etc/passwd ($(printf '%s' "$why" | head -n 1)); create it in the image before the first boot: the agent's unit runs as $AGENT_USER"
  else
    die "could not create the system user $AGENT_USER ($(printf '%s' "$why" | head -n 1)); create it (useradd --system --user-group --shell /usr/sbin/nologin $AGENT_USER) and run this again"
  fi
fi

# Hands the state dir to the agent's user (root-owned /opt stays as it is).
own_state() {
  ids=$(user_ids)
  [ -n "$ids" ] || return 0
  if [ "$(id -u)" = 0 ]; then
    chown -R "$ids" "$STATE"
  else
    say "note: not root, so $STATE is not handed to $AGENT_USER ($ids); chown -R $ids it before the first boot"
  fi
}

# --- state: CA, configuration ---------------------------------------------------------------
if [ ! -d "$STATE" ]; then CHANGED=1; fi
mkdir -p "$STATE"
chmod 0700 "$STATE"
if put_file "$HERE/ca.pem" "$STATE/bundle-ca.pem" 0644; then
  say "installed the platform CA chain: $STATE/bundle-ca.pem"
  CHANGED=1
fi
if [ -f "$STATE/agent.json" ]; then
  say "keeping the existing $STATE/agent.json"
else
  put_file "$HERE/agent.json" "$STATE/agent.json" 0644 || true
  say "installed the default configuration: $STATE/agent.json (system metrics every 10 s)"
  CHANGED=1
fi

# --- enrollment -----------------------------------------------------------------------------
if [ -f "$STATE/cert.pem" ] && [ -f "$STATE/identity.json" ]; then
  DEVICE_ID=$(run_node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).deviceId))' "$STATE/identity.json" 2>/dev/null || echo '?')
  say "already enrolled as $DEVICE_ID"
elif [ "$ENROLL" = 0 ]; then
  say "not enrolling (--no-enroll); later: $NODE_UNIT /opt/outpost-agent/current/$MAIN enroll --server $SERVER --token-file FILE --ca $STATE/bundle-ca.pem --state-dir $STATE (then chown -R $AGENT_USER: $STATE)"
else
  say "enrolling with $SERVER into group $GROUP"
  FINGERPRINT=$(field caFingerprint)
  TOKEN=$(field token)
  # The token goes through standard input (printf is built in), never a command line, where ps would show it.
  rc=0
  printf '%s\n' "$TOKEN" | run_node "$AGENT_HOME/current/$MAIN" enroll --server "$SERVER" --token-file - --ca "$STATE/bundle-ca.pem" --ca-fingerprint "$FINGERPRINT" --state-dir "$STATE" || rc=$?
  [ "$rc" = 0 ] || own_state
  case $rc in
    0) ;;
    3) die "enrollment failed: the platform refused the bundle's token (see above: used up, expired or revoked). Make a new bundle with 'outpost agent bundle --group $GROUP' and run its install.sh" ;;
    *) die "enrollment failed (see above; exit $rc). The platform did not take the token, so it is still unused: fix the cause (network, time, Node.js) and run this install.sh again" ;;
  esac
  CHANGED=1
fi
own_state

# --- systemd --------------------------------------------------------------------------------
if [ "$SYSTEMD" = 1 ]; then
  units_changed=0
  if put_file "$HERE/outpost-agent.service" "$UNIT_DIR/outpost-agent.service" 0644; then units_changed=1; fi
  if put_file "$HERE/outpost-agent-firstboot.service" "$UNIT_DIR/outpost-agent-firstboot.service" 0644; then units_changed=1; fi
  if put_file "$HERE/outpost-agent-helper.service" "$UNIT_DIR/outpost-agent-helper.service" 0644; then units_changed=1; fi
  if put_file "$HERE/outpost-agent-helper.path" "$UNIT_DIR/outpost-agent-helper.path" 0644; then units_changed=1; fi
  # The launcher runs the node chosen above, wherever it lives (the bundle's, nvm, /usr/local, …).
  if put_text "$(printf '[Service]\nEnvironment=OUTPOST_AGENT_NODE=%s' "$NODE_UNIT")" "$UNIT_DIR/outpost-agent.service.d/node.conf" 0644; then units_changed=1; fi
  [ "$units_changed" = 0 ] || {
    say "installed the systemd units in $UNIT_DIR"
    CHANGED=1
  }
  if ! command -v systemctl >/dev/null 2>&1; then
    say "systemctl not found: start the agent with $AGENT_HOME/launcher"
  elif [ -n "$ROOT" ]; then
    for unit in outpost-agent.service outpost-agent-helper.path; do
      if ! systemctl --root="$ROOT" is-enabled --quiet "$unit" 2>/dev/null; then
        systemctl --root="$ROOT" enable "$unit"
        CHANGED=1
      fi
    done
  else
    [ "$units_changed" = 0 ] || systemctl daemon-reload
    for unit in outpost-agent.service outpost-agent-helper.path; do
      if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
        systemctl enable "$unit"
        CHANGED=1
      fi
    done
    systemctl is-active --quiet outpost-agent-helper.path || systemctl start --no-block outpost-agent-helper.path
    # --no-block: this may run inside outpost-agent-firstboot.service, which the agent waits for.
    if [ ! -f "$STATE/identity.json" ]; then
      say "not starting outpost-agent.service before the device is enrolled"
    elif [ "$CHANGED" = 1 ]; then
      systemctl restart --no-block outpost-agent.service
      say "started outpost-agent.service (journalctl -u outpost-agent -f)"
    elif ! systemctl is-active --quiet outpost-agent.service; then
      systemctl start --no-block outpost-agent.service
      say "started outpost-agent.service (journalctl -u outpost-agent -f)"
    fi
  fi
fi

if [ "$CHANGED" = 0 ]; then
  say "nothing to do: agent $VERSION is installed and up to date"
else
  say "done"
fi
