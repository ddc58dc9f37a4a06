#!/usr/bin/env bash
# Run the libFuzzer drivers; called by tests/fuzz/fuzz.mk (make fuzz, make fuzz-check).
#
#   run.sh check SECONDS BUILD DRIVER...
#       per driver: replay every seed (tests/fuzz/seeds/DRIVER/) once, replay
#       each crash input (tests/fuzz/crashes/DRIVER/*) once, then fuzz for
#       SECONDS in a scratch corpus started from the seeds;
#   run.sh fuzz SECONDS BUILD DRIVER...
#       per driver: fuzz for SECONDS on BUILD/corpus/DRIVER, which is kept
#       between runs and grows (the committed seeds are only read).
#
# Each check is one line, "ok   ..." or "FAIL ..." followed by the end of
# the sanitizer report; the last line is "fuzz: N passed, M failed" and the
# exit status is 1 when anything failed.  A crash found while fuzzing is in
# BUILD/artifacts/DRIVER/: minimise it (DRIVER -minimize_crash=1
# -runs=10000 FILE) and keep it as tests/fuzz/crashes/DRIVER/<what-it-does>,
# where it fails this check until the bug is fixed.  FUZZ_JOBS drivers run at
# a time (default 2); their logs are in BUILD/logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."

mode=${1:?usage: run.sh check|fuzz SECONDS BUILD DRIVER...}
secs=${2:?seconds}
build=${3:?build dir}
shift 3
here=tests/fuzz
jobs=${FUZZ_JOBS:-2}
logs=$build/logs
mkdir -p "$logs"

# Symbolized stacks in reports; leaks are bugs too.
if ! command -v llvm-symbolizer >/dev/null && command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# Per input: a hang is a failure; memory is bounded well below the host's.
common=(-timeout=10 -rss_limit_mb=2048)

# say RESULTFILE ok|FAIL MESSAGE [LOG]: one result line, plus the report's end.
say() {
  local res=$1 st=$2 msg=$3 log=${4:-}
  if [ "$st" = ok ]; then
    printf 'ok   %s\n' "$msg" >>"$res"
  else
    printf 'FAIL %s\n' "$msg" >>"$res"
    [ -n "$log" ] && [ -f "$log" ] &&
      grep -v -e '^INFO: ' -e '^#[0-9]*[[:space:]]*\(INITED\|NEW\|REDUCE\|pulse\|RELOAD\)' "$log" |
      tail -n 40 | sed 's/^/    /' >>"$res"
  fi
}

run_driver() {
  local d=$1 bin=$build/bin/$1 res=$logs/$1.result
  local corpus log rc execs f name dict=() seeds=()

  : >"$res"
  if [ ! -x "$bin" ]; then
    say "$res" FAIL "$d: not built"
    return
  fi
  [ -f "$here/dict/$d.dict" ] && dict=(-dict="$here/dict/$d.dict")
  if [ -d "$here/seeds/$d" ]; then
    for f in "$here/seeds/$d"/*; do [ -f "$f" ] && seeds+=("$f"); done
  fi

  if [ "$mode" = check ]; then
    if ((${#seeds[@]})); then
      log=$logs/$d.seeds.log
      if "$bin" "${common[@]}" "${seeds[@]}" >"$log" 2>&1; then
        say "$res" ok "$d: ${#seeds[@]} seeds replayed"
      else
        say "$res" FAIL "$d: a seed fails (log $log)" "$log"
      fi
    fi
    for f in "$here/crashes/$d"/*; do
      [ -f "$f" ] || continue
      name=${f#"$here/"}
      log=$logs/$d.crash.$(basename "$f").log
      if "$bin" "${common[@]}" "$f" >"$log" 2>&1; then
        say "$res" ok "$d: $name no longer fails"
      else
        say "$res" FAIL "$d: $name still fails (log $log)" "$log"
      fi
    done
    corpus=$build/check-corpus/$d
    rm -rf "$corpus"
  else
    corpus=$build/corpus/$d
  fi
  mkdir -p "$corpus" "$build/artifacts/$d" "$here/seeds/$d"
  log=$logs/$d.fuzz.log
  "$bin" "${common[@]}" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$d/" "$corpus" "$here/seeds/$d" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" = 0 ]; then
    say "$res" ok "$d: fuzzed ${secs}s, ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) inputs"
  else
    say "$res" FAIL "$d: fuzzing failed after ${execs:-?} executions; input in $build/artifacts/$d/ (log $log)" "$log"
  fi
}

for d in "$@"; do
  echo "fuzz: $mode $d (${secs}s)"
  run_driver "$d" &
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
done
wait

pass=0 fail=0
if [ "${FUZZ_BUILD_FAILED:-0}" != 0 ]; then
  echo "FAIL build: some drivers did not build (see the compiler output above)"
  fail=$((fail + 1))
fi
for d in "$@"; do
  res=$logs/$d.result
  [ -f "$res" ] || { echo "FAIL $d: no result"; fail=$((fail + 1)); continue; }
  cat "$res"
  pass=$((pass + $(grep -c '^ok ' "$res")))
  fail=$((fail + $(grep -c '^FAIL ' "$res")))
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
