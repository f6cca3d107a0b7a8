/**
 * The first-boot script `outpost agent sdcard` writes onto a Raspberry Pi OS boot partition
 * (docs/raspberry-pi.md). The same bytes on every card: what differs per card is in
 * outpost-firstrun.conf next to it. POSIX sh (Raspberry Pi OS runs it with dash).
 *
 * Stage `firstrun` runs once from the kernel command line (systemd.run=, as Raspberry Pi Imager's
 * firstrun.sh does), before the network is up: it runs a chained firstrun (Imager's), moves the
 * bundle into the root file system (/var/lib/outpost-firstboot, 0700), applies hostname and Wi-Fi,
 * enables outpost-firstboot.service, removes the secrets and the hook from the boot partition and
 * exits (systemd reboots). Stage `install` runs from that unit once the network is online: it
 * extracts the bundle, runs its install.sh (install, enroll, start), then deletes the bundle (the
 * token) and disables the unit; a failure is retried every 30 s by systemd.
 *
 * Tests only: OUTPOST_FIRSTRUN_ROOT prefixes every root file system path (a directory tree
 * standing in for /), OUTPOST_FIRSTRUN_INSTALL_ARGS adds arguments to install.sh (--no-systemd).
 */

/** The file names on the boot partition. */
export const FIRSTRUN_SCRIPT_NAME = 'outpost-firstrun.sh';
export const FIRSTRUN_CONF_NAME = 'outpost-firstrun.conf';
export const FIRSTRUN_LOG_NAME = 'outpost-firstrun.log';
export const BOOT_BUNDLE_NAME = 'outpost-bundle.tar.gz';
/** Where stage 1 keeps the bundle and the script on the root file system, and the unit it enables. */
export const FIRSTBOOT_STATE_DIR = '/var/lib/outpost-firstboot';
export const FIRSTBOOT_UNIT_NAME = 'outpost-firstboot.service';

// `\${` keeps shell parameter expansions out of the template literal's interpolation.
export const FIRSTRUN_SCRIPT = `#!/bin/sh
# Outpost first boot for Raspberry Pi OS, written by 'outpost agent sdcard' (docs/raspberry-pi.md).
#
#   outpost-firstrun.sh [firstrun]    from cmdline.txt (systemd.run=), once, before the network:
#                                     moves the bundle into /var/lib/outpost-firstboot, applies
#                                     hostname and Wi-Fi, enables outpost-firstboot.service, removes
#                                     the bundle, the settings and this hook from the boot partition
#   sh outpost-firstrun.sh install    from outpost-firstboot.service once the network is online:
#                                     runs the bundle's install.sh (install, enroll, start the agent),
#                                     then deletes the bundle (its token) and disables the unit
#
# The log of stage 1 is outpost-firstrun.log on the boot partition (no secrets in it).
set -eu
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# Tests only: a directory tree standing in for / and extra install.sh arguments.
ROOT=\${OUTPOST_FIRSTRUN_ROOT:-}
ROOT=\${ROOT%/}
INSTALL_ARGS=\${OUTPOST_FIRSTRUN_INSTALL_ARGS:-}
STATE=$ROOT${FIRSTBOOT_STATE_DIR}
UNIT=${FIRSTBOOT_UNIT_NAME}
UNIT_DIR=$ROOT/etc/systemd/system
HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
LOG=''

say() {
  printf 'outpost-firstrun: %s\\n' "$*"
  [ -z "$LOG" ] || printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo -)" "$*" >>"$LOG" 2>/dev/null || true
}
die() {
  say "error: $*"
  exit 1
}

# --- stage 1 helpers ----------------------------------------------------------------------------

# Takes our hook (and the chained one it replaced) out of cmdline.txt, so the next boot is normal.
restore_cmdline() {
  file=$HERE/cmdline.txt
  [ -f "$file" ] || return 0
  line=$(head -n 1 "$file")
  out=''
  set -f
  for word in $line; do
    case $word in
      systemd.run=*|systemd.run_success_action=*|systemd.run_failure_action=*|systemd.unit=kernel-command-line.target) ;;
      *) out="$out\${out:+ }$word" ;;
    esac
  done
  set +f
  [ "$out" != "$line" ] || return 0
  printf '%s\\n' "$out" >"$file.outpost-tmp"
  mv -f "$file.outpost-tmp" "$file"
  say "restored cmdline.txt: $out"
}

set_hostname() {
  name=$1
  if [ -z "$ROOT" ] && [ -x /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
    /usr/lib/raspberrypi-sys-mods/imager_custom set_hostname "$name"
  else
    old=$(cat "$ROOT/etc/hostname" 2>/dev/null || true)
    mkdir -p "$ROOT/etc"
    printf '%s\\n' "$name" >"$ROOT/etc/hostname"
    hosts=$ROOT/etc/hosts
    if [ -f "$hosts" ] && grep -q '^127\\.0\\.1\\.1[[:space:]]' "$hosts"; then
      awk -v n="$name" '/^127\\.0\\.1\\.1[ \\t]/ { print "127.0.1.1\\t" n; next } { print }' "$hosts" >"$hosts.outpost-tmp"
      mv -f "$hosts.outpost-tmp" "$hosts"
    else
      printf '127.0.1.1\\t%s\\n' "$name" >>"$hosts"
    fi
    [ -z "$old" ] || say "hostname: $old -> $name"
  fi
  say "hostname set to $name"
}

set_wifi() {
  ssid=$1
  psk=$2
  country=$3
  if [ -z "$ROOT" ] && [ -x /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
    # Raspberry Pi OS's own helper (what Raspberry Pi Imager's firstrun.sh calls on bookworm).
    /usr/lib/raspberrypi-sys-mods/imager_custom set_wlan "$ssid" "$psk" "$country"
  else
    dir=$ROOT/etc/NetworkManager/system-connections
    mkdir -p "$dir"
    uuid=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || echo 6f1c4a52-0d1e-4b8e-9f00-000000000001)
    umask 077
    {
      printf '[connection]\\nid=outpost-wifi\\nuuid=%s\\ntype=wifi\\ninterface-name=wlan0\\nautoconnect=true\\n\\n' "$uuid"
      printf '[wifi]\\nmode=infrastructure\\nssid=%s\\n\\n' "$ssid"
      printf '[wifi-security]\\nkey-mgmt=wpa-psk\\npsk=%s\\n\\n' "$psk"
      printf '[ipv4]\\nmethod=auto\\n\\n[ipv6]\\nmethod=auto\\naddr-gen-mode=default\\n'
    } >"$dir/outpost-wifi.nmconnection"
    chmod 0600 "$dir/outpost-wifi.nmconnection"
    umask 022
    # Raspberry Pi OS keeps Wi-Fi soft-blocked until a country is set.
    for f in "$ROOT"/var/lib/systemd/rfkill/*:wlan; do
      if [ -f "$f" ]; then printf '0\\n' >"$f"; fi
    done
    if [ -n "$country" ] && [ -z "$ROOT" ] && command -v raspi-config >/dev/null 2>&1; then
      raspi-config nonint do_wifi_country "$country" || say "note: could not set the Wi-Fi country $country"
    fi
  fi
  say "Wi-Fi network $ssid configured"
}

write_unit() {
  mkdir -p "$UNIT_DIR/multi-user.target.wants"
  cat >"$UNIT_DIR/$UNIT.outpost-tmp" <<UNIT_EOF
# Written by Outpost's first boot (outpost-firstrun.sh): installs and enrolls the agent from the
# bundle the SD card carried, once the network is online; disables itself when done.
[Unit]
Description=Outpost agent: install and enroll from the SD card (once)
Wants=network-online.target
After=network-online.target time-sync.target
ConditionPathExists=${FIRSTBOOT_STATE_DIR}/${BOOT_BUNDLE_NAME}

[Service]
Type=oneshot
ExecStart=/bin/sh ${FIRSTBOOT_STATE_DIR}/${FIRSTRUN_SCRIPT_NAME} install
Restart=on-failure
RestartSec=30

[Install]
WantedBy=multi-user.target
UNIT_EOF
  chmod 0644 "$UNIT_DIR/$UNIT.outpost-tmp"
  mv -f "$UNIT_DIR/$UNIT.outpost-tmp" "$UNIT_DIR/$UNIT"
  ln -sf "/etc/systemd/system/$UNIT" "$UNIT_DIR/multi-user.target.wants/$UNIT"
  say "enabled $UNIT for the next boot"
}

stage_firstrun() {
  LOG=$HERE/${FIRSTRUN_LOG_NAME}
  # Whatever happens, the next boot must be a normal one (no boot loop through this hook).
  trap restore_cmdline EXIT
  say "first boot: preparing the Outpost agent"
  bundle=$HERE/${BOOT_BUNDLE_NAME}
  conf=$HERE/${FIRSTRUN_CONF_NAME}
  OUTPOST_HOSTNAME=''
  OUTPOST_WIFI_SSID=''
  OUTPOST_WIFI_PSK=''
  OUTPOST_WIFI_COUNTRY=''
  OUTPOST_CHAIN=''
  # Written by 'outpost agent sdcard': shell assignments, every value single-quoted.
  # shellcheck disable=SC1090
  [ ! -f "$conf" ] || . "$conf"

  if [ -n "$OUTPOST_CHAIN" ]; then
    chained=$OUTPOST_CHAIN
    # Imager writes /boot/firstrun.sh; on bookworm the partition is mounted at /boot/firmware.
    [ -f "$ROOT$chained" ] && chained=$ROOT$chained || chained=$HERE/$(basename "$OUTPOST_CHAIN")
    if [ -f "$chained" ]; then
      say "running the chained first-boot script $OUTPOST_CHAIN"
      # Its own interpreter when it can run (Imager's is a bash script; FAT makes every file executable).
      if [ -x "$chained" ]; then
        "$chained" || say "note: $OUTPOST_CHAIN failed (exit $?); continuing"
      else
        sh "$chained" || say "note: $OUTPOST_CHAIN failed (exit $?); continuing"
      fi
    else
      say "note: the chained first-boot script $OUTPOST_CHAIN is gone; continuing"
    fi
  fi

  [ -f "$bundle" ] || die "no ${BOOT_BUNDLE_NAME} next to this script: copy it with 'outpost agent sdcard' and boot again"
  mkdir -p "$STATE"
  chmod 0700 "$STATE"
  cp "$bundle" "$STATE/${BOOT_BUNDLE_NAME}.tmp"
  chmod 0600 "$STATE/${BOOT_BUNDLE_NAME}.tmp"
  mv -f "$STATE/${BOOT_BUNDLE_NAME}.tmp" "$STATE/${BOOT_BUNDLE_NAME}"
  cp "$SELF" "$STATE/${FIRSTRUN_SCRIPT_NAME}.tmp"
  chmod 0700 "$STATE/${FIRSTRUN_SCRIPT_NAME}.tmp"
  mv -f "$STATE/${FIRSTRUN_SCRIPT_NAME}.tmp" "$STATE/${FIRSTRUN_SCRIPT_NAME}"
  say "moved the bundle to ${FIRSTBOOT_STATE_DIR} (root only)"

  [ -z "$OUTPOST_HOSTNAME" ] || set_hostname "$OUTPOST_HOSTNAME"
  [ -z "$OUTPOST_WIFI_SSID" ] || set_wifi "$OUTPOST_WIFI_SSID" "$OUTPOST_WIFI_PSK" "$OUTPOST_WIFI_COUNTRY"
  write_unit

  # Secrets off the boot partition: the bundle (enrollment token) and the settings (Wi-Fi key).
  rm -f "$bundle" "$conf"
  sync
  restore_cmdline
  trap - EXIT
  say "done: rebooting into the normal system; outpost-firstboot.service enrolls once the network is up"
  # Last: this script leaves the boot partition (the shell has read it; exec ends the shell).
  exec rm -f "$SELF"
}

# --- stage 2 ------------------------------------------------------------------------------------

disable_unit() {
  rm -f "$UNIT_DIR/multi-user.target.wants/$UNIT"
  say "disabled $UNIT"
}

stage_install() {
  bundle=$STATE/${BOOT_BUNDLE_NAME}
  if [ ! -f "$bundle" ]; then
    say "nothing to do: $bundle is gone (already installed)"
    disable_unit
    return 0
  fi
  work=$(mktemp -d "\${TMPDIR:-/tmp}/outpost-bundle.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$bundle" -C "$work" || die "could not extract $bundle"
  [ -f "$work/outpost-bundle/install.sh" ] || die "$bundle holds no outpost-bundle/install.sh"
  set --
  [ -z "$ROOT" ] || set -- --root "$ROOT"
  set -f
  # shellcheck disable=SC2086
  set -- "$@" $INSTALL_ARGS
  set +f
  rc=0
  sh "$work/outpost-bundle/install.sh" "$@" || rc=$?
  if [ "$rc" != 0 ]; then
    die "install.sh failed (exit $rc); the bundle stays in ${FIRSTBOOT_STATE_DIR} and systemd retries in 30 s (journalctl -u $UNIT)"
  fi
  # The token is used: nothing secret is left from the SD card.
  rm -f "$bundle"
  disable_unit
  say "done: the agent is installed and enrolled"
}

case \${1:-} in
  '' | firstrun) stage_firstrun ;;
  install) stage_install ;;
  *) die "usage: sh $0 firstrun|install" ;;
esac
`;
