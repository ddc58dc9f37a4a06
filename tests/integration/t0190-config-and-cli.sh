#!/usr/bin/env bash
# The command line and the config file: help, validation with line numbers,
# the shipped sample, and refusing to start when something is missing.
. "$(dirname "$0")/lib.sh"
bin=$OYSTER_FCGI
check "--help mentions --config" bash -c "'$bin' --help | grep -q -- --config"
check "--version" bash -c "'$bin' --version | grep -q '^oyster-fcgi [0-9]'"
check "unknown option exits 2" bash -c "'$bin' --bogus 2>/dev/null; [ \$? = 2 ]"
check "shipped sample equals --print-sample-config" cmp -s <("$bin" --print-sample-config) "$IT_ROOT/conf/executor.conf"
check "the sample (all defaults) is valid" "$bin" -c "$IT_ROOT/conf/executor.conf" --check-config

printf 'slots = 4\n# comment\nmemory_limit = 12Q\n' >"$IT_DIR/bad.conf"
out=$("$bin" -c "$IT_DIR/bad.conf" --check-config 2>&1) && fail "bad size accepted"
check "bad value names file and line" grep -q "bad.conf:3: memory_limit" <<<"$out"
printf 'slotz = 4\n' >"$IT_DIR/bad2.conf"
out=$("$bin" -c "$IT_DIR/bad2.conf" --check-config 2>&1) && fail "unknown key accepted"
check "unknown key reported" grep -q "unknown key 'slotz'" <<<"$out"
printf 'slots = 4\nslots = 5\n' >"$IT_DIR/bad3.conf"
out=$("$bin" -c "$IT_DIR/bad3.conf" --check-config 2>&1) && fail "duplicate key accepted"
check "duplicate key reported" grep -q "set twice" <<<"$out"
out=$("$bin" -c "$IT_DIR/missing.conf" --check-config 2>&1) && fail "missing file accepted"
check "missing file reported" grep -q "cannot open config" <<<"$out"

# Refuses to start without a usable workerd, with a clear message.
stack_init "$IT_DIR/node" workerd_path=/nonexistent/workerd
out=$(timeout 10 "$bin" -c "$IT_DIR/node/executor.conf" 2>&1) && fail "started without workerd"
check "missing workerd reported" grep -q "workerd_path /nonexistent/workerd is not executable" <<<"$out"

check "committed man/executor.conf.5 is up to date (make docs)" \
  cmp -s <("$IT_ROOT/build/bin/gendoc" conf-man) "$IT_ROOT/man/executor.conf.5"

# Refuses to start without a usable enclave key, saying why.
refuse() { # refuse WHAT PATTERN: oyster-fcgi must exit non-zero with PATTERN in its output
  local out
  out=$(timeout 10 "$bin" -c "$IT_DIR/node/executor.conf" 2>&1) && { fail "$1: started"; return; }
  check "$1: refused with a clear message" grep -q "$2" <<<"$out"
}
sed -i 's|^workerd_path = .*|workerd_path = '"$OYSTER_WORKERD"'|' "$IT_DIR/node/executor.conf"
rm -f "$IT_DIR/node/id.sec"
refuse "missing key" "enclave key: .*id.sec"
head -c 32 /dev/zero >"$IT_DIR/node/id.sec"; chmod 600 "$IT_DIR/node/id.sec"
refuse "invalid (zero) key" "enclave key: "
"$OYSTERCTL" keygen --out "$IT_DIR/k2" >/dev/null && cp "$IT_DIR/k2" "$IT_DIR/node/id.sec" && chmod 644 "$IT_DIR/node/id.sec"
refuse "world-readable key" "mode 0644"
head -c 31 "$IT_DIR/k2" >"$IT_DIR/node/id.sec"; chmod 600 "$IT_DIR/node/id.sec"
refuse "short key" "enclave key: "
