# Oyster serverless executor: build, dependencies, run, test.
#
#   make run     install what is missing, build, start the whole stack
#   make test    install what is missing, build, run every test
#
# Nothing outside the repository is needed beyond Debian packages and the
# npm packages pinned in package.json (both installed by `make deps`).

CC ?= cc
BUILD ?= build
SANITIZER ?=
CFLAGS ?= -O2 -g
PKGS = libcgroup jansson sqlite3 libsecp256k1 libcurl libseccomp

WARN = -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wvla \
       -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith \
       -Wundef -Wwrite-strings -Wnull-dereference -Wimplicit-fallthrough
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -I. -Icommon -Icommon/eth -Isandbox -Ifcgi-app -Ichain-watcher \
	     $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
ifneq ($(SANITIZER),)
ALL_CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZER)
HARDEN =
endif
ALL_CFLAGS += $(HARDEN)

COMMON_SRC  = $(wildcard common/*.c common/eth/*.c)
SANDBOX_SRC = $(wildcard sandbox/*.c)
FCGI_SRC    = $(filter-out fcgi-app/fa_main.c,$(wildcard fcgi-app/*.c))
CW_SRC      = $(filter-out chain-watcher/cw_main.c,$(wildcard chain-watcher/*.c))
LIB_SRC     = $(COMMON_SRC) $(SANDBOX_SRC) $(FCGI_SRC) $(CW_SRC)
LIB_OBJ     = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_BIN    = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ADV_TOOLS   = $(patsubst tests/adversarial/%.c,$(BUILD)/tests/%,$(wildcard tests/adversarial/adv_*.c))
BINS        = $(BUILD)/bin/oyster-fcgi $(BUILD)/bin/oyster-chain-watcher $(BUILD)/bin/oysterctl $(BUILD)/bin/oyster-jail-run $(BUILD)/bin/gendoc

.PHONY: all deps build bins run test unit check-sanitize check-valgrind integration clean docs \
	install deb test-package test-lb test-adversarial test-adversarial-quick bench bench-quick fuzz fuzz-check test-contracts
all: build
build: $(BINS) $(UNIT_BIN) $(BUILD)/tests/probe $(ADV_TOOLS) $(BUILD)/contracts/.stamp
# The installed programs only (what the .deb build needs: no tests, no contracts).
bins: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The pool's loader worker is built into sb_loader.o with .incbin.
$(BUILD)/obj/sandbox/sb_loader.o: sandbox/sb_loader.js

$(BUILD)/lib/liboyster.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/oyster-fcgi: $(BUILD)/obj/fcgi-app/fa_main.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/bin/oyster-chain-watcher: $(BUILD)/obj/chain-watcher/cw_main.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/bin/oysterctl: $(BUILD)/obj/ctl/oysterctl.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/bin/oyster-jail-run: $(BUILD)/obj/tools/jail_run.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# The native probe the adversarial tests run inside the jail (plain C, no project code).
$(BUILD)/tests/probe: tests/adversarial/probe.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# The adversarial tests' own clients and servers (slow HTTP, flood, raw FastCGI,
# hostile JSON-RPC): standalone C, loopback only.
$(BUILD)/tests/adv_%: tests/adversarial/adv_%.c common/banned.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Icommon -pthread -o $@ $<

$(BUILD)/bin/gendoc: $(BUILD)/obj/tools/gendoc.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# Generated documentation is committed; `make docs` refreshes it and a test
# fails when the committed copy is stale.
docs: $(BINS)
	$(BUILD)/bin/oyster-fcgi --print-sample-config > conf/executor.conf
	$(BUILD)/bin/gendoc conf-man > man/executor.conf.5

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(shell pkg-config --libs check) $(LIBS) -o $@

$(BUILD)/bin/oyster-bench: $(BUILD)/obj/bench/oyster-bench.o $(BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# The benchmark (bench/run.sh): bare workerd, process mode, pool mode and
# isolate reuse side by side; writes bench/results/latest.{md,png}.
# deps.sh --bench adds wrk and gnuplot to the usual dependencies.
bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build $(BUILD)/bin/oyster-bench
	@bench/run.sh

bench-quick:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build $(BUILD)/bin/oyster-bench
	@BENCH_QUICK=1 bench/run.sh

include contracts/contracts.mk
include tests/fuzz/fuzz.mk

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run.sh

# Unit tests: one check binary per source module.
unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

# ASan+UBSan: the unit tests, then the integration tests against an
# instrumented oyster-fcgi (any sanitizer report in its log fails a test).
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=build-asan SANITIZER=address,undefined CFLAGS="-O1 -g"
check-sanitize:
	@$(ASAN_MAKE) build unit
	@OYSTER_FCGI=$(CURDIR)/build-asan/bin/oyster-fcgi OYSTER_CW=$(CURDIR)/build-asan/bin/oyster-chain-watcher \
	  scripts/run-integration.sh

check-valgrind: $(UNIT_BIN)
	@VALGRIND=1 scripts/run-unit.sh $(UNIT_BIN)

integration: build
	@scripts/run-integration.sh

# The attack catalogue of SECURITY.md, one test per row (tests/adversarial/):
# the full suite (under 10 minutes) and the short form (about 2 minutes).
test-adversarial: build
	@scripts/run-adversarial.sh

test-adversarial-quick: build
	@ADV_QUICK=1 scripts/run-adversarial.sh

# The load-balancer failover test alone (it is also part of `make integration`).
test-lb: build
	@IT_FILTER=t0510 scripts/run-integration.sh

# Build the .deb, install it on this machine, run it the way its systemd
# units do, remove and purge it, and check nothing is left (tests/package/).
test-package: deb
	@tests/package/run.sh $(DEB_OUT)

test: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-sanitize
	@$(MAKE) --no-print-directory check-valgrind
	@$(MAKE) --no-print-directory test-contracts
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory test-adversarial-quick
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory test-package

# ---- packaging ---------------------------------------------------------------
# `make deb`: the Debian package(s) from packaging/debian/ with debhelper, in
# $(DEB_OUT); lintian runs on them (its report: $(DEB_OUT)/lintian.txt).
DEB_OUT ?= $(BUILD)/deb
deb: deps
	@scripts/build-deb.sh $(DEB_OUT)

# `make install DESTDIR=...`: the installed file layout (packaging/debian/rules
# uses it).  It installs files only: the system users, the enclave key and
# ownerships are made by the package's maintainer scripts.
WORKERD ?= node_modules/@cloudflare/workerd-linux-64/bin/workerd
DESTDIR ?=
PKG_SHARE = $(DESTDIR)/usr/share/oyster-executor
PKG_LIB = $(DESTDIR)/usr/lib/oyster-executor
$(BUILD)/oyster-executor.site: nginx/oyster-site.conf.in conf/executor.conf scripts/render-site.sh $(BUILD)/bin/oyster-fcgi
	scripts/render-site.sh -c conf/executor.conf -b $(BUILD)/bin/oyster-fcgi -t nginx/oyster-site.conf.in \
	  -p /usr/share/oyster-executor/nginx/fastcgi_params -l /var/log/nginx/oyster-executor.access.log -o $@
install: $(BINS) $(BUILD)/oyster-executor.site
	@test -x $(WORKERD) || { echo "install: no workerd at $(WORKERD) (make deps)" >&2; exit 1; }
	install -D -m 0755 $(BUILD)/bin/oyster-fcgi $(DESTDIR)/usr/sbin/oyster-fcgi
	install -D -m 0755 $(BUILD)/bin/oyster-chain-watcher $(DESTDIR)/usr/sbin/oyster-chain-watcher
	install -D -m 0755 $(BUILD)/bin/oysterctl $(DESTDIR)/usr/bin/oysterctl
	install -D -m 0755 $(WORKERD) $(PKG_LIB)/workerd
	install -D -m 0755 scripts/render-site.sh $(PKG_LIB)/render-nginx-site
	install -D -m 0755 scripts/render-lb.sh $(PKG_LIB)/render-nginx-lb
	install -D -m 0644 nginx/oyster-site.conf.in $(PKG_SHARE)/nginx/oyster-site.conf.in
	install -D -m 0644 nginx/oyster-lb.conf.in $(PKG_SHARE)/nginx/oyster-lb.conf.in
	install -D -m 0644 nginx/fastcgi_params $(PKG_SHARE)/nginx/fastcgi_params
	install -D -m 0640 conf/executor.conf $(DESTDIR)/etc/oyster-executor/executor.conf
	install -D -m 0644 $(BUILD)/oyster-executor.site $(DESTDIR)/etc/nginx/sites-available/oyster-executor
	install -D -m 0644 packaging/systemd/oyster-fcgi.service $(DESTDIR)/lib/systemd/system/oyster-fcgi.service
	install -D -m 0644 packaging/systemd/oyster-chain-watcher.service $(DESTDIR)/lib/systemd/system/oyster-chain-watcher.service
	install -D -m 0644 packaging/tmpfiles/oyster-executor.conf $(DESTDIR)/usr/lib/tmpfiles.d/oyster-executor.conf
	install -D -m 0644 man/oyster-fcgi.8 $(DESTDIR)/usr/share/man/man8/oyster-fcgi.8
	install -D -m 0644 man/oyster-chain-watcher.8 $(DESTDIR)/usr/share/man/man8/oyster-chain-watcher.8
	install -D -m 0644 man/oysterctl.1 $(DESTDIR)/usr/share/man/man1/oysterctl.1
	install -D -m 0644 man/executor.conf.5 $(DESTDIR)/usr/share/man/man5/executor.conf.5
	install -d -m 0750 $(DESTDIR)/var/lib/oyster-executor

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
