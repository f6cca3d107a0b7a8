#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
#
#   influxdb           real InfluxDB 1.x for the telemetry adapter and e2e tests
#   chromium           headless browser for dashboard tests (driven by playwright-core)
#   mosquitto(-clients) a second, independent MQTT implementation to test the broker against
#   openssl            verifies certificates and CRLs built by device-registry
#   python3 make g++   node-gyp, for native addons (better-sqlite3) without a prebuilt binary
#   postgresql         real PostgreSQL for the state-database contract suite and cluster tests
#   redis-server       real Redis shared by broker nodes in the cluster tests
#   haproxy            the TCP load balancer in front of the cluster tests' broker nodes
#   qemu-user-static   runs the arm64/armv7l agent bundles under emulation
#   python3-paho-mqtt  the independent Python example device (docs/device-protocol.md)
#   lib*-arm64-cross, lib*-armhf-cross
#                      glibc sysroots (architecture `all`) for the bundled arm64/armv7l Node.js under qemu
#
# Idempotent: prints one line and exits 0 when everything is present. Needs root or
# password-less sudo to install; otherwise prints what to install and exits 1.
# The daemons are never started here: tests start their own on loopback.
#
#   --if-possible   (what `npm test` runs first) install when this user may; when it may not,
#                   or this is not Debian, print one line naming what is missing and exit 0:
#                   the tests that need a missing package then fail with that same hint.
set -euo pipefail

if_possible=0
for arg in "$@"; do
  case "$arg" in
    --if-possible) if_possible=1 ;;
    *) printf 'install-test-deps: unknown option %s (known: --if-possible)\n' "$arg" >&2; exit 2 ;;
  esac
done

packages=(influxdb chromium mosquitto mosquitto-clients openssl python3 make g++ postgresql redis-server haproxy qemu-user-static python3-paho-mqtt
  libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross
  libc6-armhf-cross libstdc++6-armhf-cross libgcc-s1-armhf-cross libatomic1-armhf-cross)

say() { printf 'install-test-deps: %s\n' "$*"; }

# Refuses with one line; under --if-possible the tests still run (those needing the packages fail).
give_up() {
  if [ "$if_possible" -eq 1 ]; then
    say "$*; the tests that need them fail until then" >&2
    exit 0
  fi
  say "$*" >&2
  exit 1
}

if ! command -v dpkg >/dev/null 2>&1; then
  give_up "dpkg not found: this script supports Debian/Ubuntu only; install these packages yourself: ${packages[*]}"
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
    give_up "missing packages: ${missing[*]}; install them as root with: bash scripts/install-test-deps.sh (or apt-get install -y --no-install-recommends ${missing[*]})"
  fi
fi

log="$(mktemp "${TMPDIR:-/tmp}/install-test-deps.XXXXXX")"
trap 'rm -f "$log"' EXIT

run_apt() {
  # apt's own output goes to a log that is shown only when the step fails.
  if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
    cat "$log" >&2
    give_up "failed: apt-get $* (see its output above)"
  fi
}

say "apt-get update"
run_apt -o DPkg::Lock::Timeout=600 update
say "installing ${missing[*]} (a few minutes, once)"
run_apt -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"

still_missing=()
for package in "${missing[@]}"; do
  if ! is_installed "$package"; then
    still_missing+=("$package")
  fi
done
if [ "${#still_missing[@]}" -ne 0 ]; then
  give_up "still missing after install: ${still_missing[*]}"
fi
say "installed ${missing[*]}"
