#!/usr/bin/env bash
# `make deb`: build the Debian package(s) with debhelper and check them with
# lintian.
#
#   scripts/build-deb.sh [OUTDIR]     (default build/deb)
#
# The source tree (tracked and untracked-but-not-ignored files, so a fresh
# clone and a work tree with uncommitted files both work) is copied to
# OUTDIR/oyster-executor-VERSION/ with packaging/debian/ as its debian/, and
# dpkg-buildpackage builds the binary packages there: OUTDIR gets the .deb
# (and the -dbgsym .deb), .buildinfo and .changes, and lintian.txt.  The
# workerd binary comes from the pinned npm package in node_modules/ (make
# deps).  Fails when lintian reports an error or warning that is not
# overridden (packaging/debian/oyster-executor.lintian-overrides).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
out=${1:-build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^#define OYSTER_VERSION "\(.*\)"$/\1/p' common/version.h)
debversion=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
[ "$version" = "$debversion" ] || {
  echo "build-deb: common/version.h says $version, packaging/debian/changelog says $debversion" >&2; exit 1; }
workerd=$ROOT/node_modules/@cloudflare/workerd-linux-64/bin/workerd
[ -x "$workerd" ] || { echo "build-deb: $workerd missing (make deps)" >&2; exit 1; }

src=$out/oyster-executor-$version
rm -rf "$src" "$out"/oyster-executor_* "$out"/oyster-executor-dbgsym_*
mkdir -p "$src"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -C "$ROOT" --null -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$ROOT" --exclude=./build --exclude=./build-asan --exclude=./node_modules --exclude=./run \
    --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"

cd "$src"
dpkg-checkbuilddeps || { echo "build-deb: build dependencies missing (make deps installs them)" >&2; exit 1; }
echo "build-deb: building oyster-executor $version in $src"
OYSTER_WORKERD=$workerd dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$out/build.log" 2>&1 || {
  tail -n 60 "$out/build.log" >&2; echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
cd "$out"
changes=$(ls oyster-executor_"$version"_*.changes)
ls -l ./*.deb
# A warning is either fixed or overridden with its reason: any E: or W: line
# fails.  (--fail-on none: lintian's own exit status then only says whether
# it ran; with --show-overrides, 2.116 would also fail on overridden tags.)
lintian --fail-on none --display-info --show-overrides "$changes" >lintian.txt 2>&1 || {
  cat lintian.txt >&2; echo "build-deb: lintian did not run" >&2; exit 1; }
echo "build-deb: lintian ($out/lintian.txt: tags, and each override with its reason):"
grep -v '^running with root privileges' lintian.txt | sed 's/^/  /'
if grep -Eq '^[EW]: ' lintian.txt; then
  echo "build-deb: lintian reports errors or warnings" >&2; exit 1
fi
echo "build-deb: ok"
