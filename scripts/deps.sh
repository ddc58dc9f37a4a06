#!/usr/bin/env bash
# Install what the build, `make run` and the tests need, and nothing more:
# Debian packages through apt-get (only the missing ones, `apt-get update`
# first), and the npm packages pinned in package.json/package-lock.json into
# ./node_modules.  Safe to run again: it does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(
  build-essential pkg-config
  nginx-light
  libcgroup-dev cgroup-tools
  libjansson-dev libsqlite3-dev sqlite3
  libsecp256k1-dev libcurl4-openssl-dev libseccomp-dev
  check libsubunit-dev
  valgrind
  # make fuzz / fuzz-check: clang with the libFuzzer and sanitizer runtimes
  # (a separate package, not pulled in without recommends), llvm-symbolizer.
  clang libclang-rt-14-dev llvm
  curl jq
  nodejs npm
  # make deb / make test-package: debhelper builds, lintian checks, the test
  # reads the units with systemd-analyze and checks the alert rules' YAML.
  debhelper dpkg-dev fakeroot lintian adduser systemd python3-yaml
)

# `make bench` also needs a load generator and a plotter.
[ "${1:-}" = --bench ] && DEB_PKGS+=(wrk gnuplot-nox)

missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm on Debian may come from elsewhere (nodesource, the image): accept any working node+npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the package scripts from starting the system nginx.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.oyster
  chmod +x /usr/sbin/policy-rc.d.oyster
  restore_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    cp /usr/sbin/policy-rc.d.oyster /usr/sbin/policy-rc.d
    restore_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$restore_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  rm -f /usr/sbin/policy-rc.d.oyster
fi

stamp=node_modules/.oyster-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "deps: installing pinned npm packages (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
test -x node_modules/@cloudflare/workerd-linux-64/bin/workerd || {
  echo "deps: workerd binary missing after npm ci" >&2; exit 1; }
