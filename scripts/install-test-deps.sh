#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
#
#   influxdb           real InfluxDB 1.x for the telemetry adapter and e2e tests
#   chromium           headless browser for dashboard tests (driven by playwright-core)
#   mosquitto(-clients) a second, independent MQTT implementation to test the broker against
#   openssl            verifies certificates and CRLs built by device-registry
#   python3 make g++   node-gyp, for native addons (better-sqlite3) without a prebuilt binary
#
# Idempotent: prints one line and exits 0 when everything is present. Needs root or
# password-less sudo to install; otherwise prints what to install and exits 1.
# The daemons are never started here: tests start their own on loopback.
set -euo pipefail

packages=(influxdb chromium mosquitto mosquitto-clients openssl python3 make g++)

say() { printf 'install-test-deps: %s\n' "$*"; }

if ! command -v dpkg >/dev/null 2>&1; then
  say "dpkg not found: this script supports Debian/Ubuntu only; install these packages yourself: ${packages[*]}" >&2
  exit 1
fi

is_installed() {
  # `dpkg -s` also knows removed packages whose config files remain; require "install ok installed".
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for package in "${packages[@]}"; do
  if ! is_installed "$package"; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all present: ${packages[*]}"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    say "missing packages: ${missing[*]}" >&2
    say "run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

log="$(mktemp "${TMPDIR:-/tmp}/install-test-deps.XXXXXX")"
trap 'rm -f "$log"' EXIT

run_apt() {
  # apt's own output goes to a log that is shown only when the step fails.
  if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
    cat "$log" >&2
    say "failed: apt-get $*" >&2
    exit 1
  fi
}

say "apt-get update"
run_apt -o DPkg::Lock::Timeout=600 update
say "installing ${missing[*]}"
run_apt -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"

still_missing=()
for package in "${missing[@]}"; do
  if ! is_installed "$package"; then
    still_missing+=("$package")
  fi
done
if [ "${#still_missing[@]}" -ne 0 ]; then
  say "still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
say "installed ${missing[*]}"
