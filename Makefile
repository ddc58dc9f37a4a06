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
PKGS = libcgroup jansson sqlite3 libsecp256k1 libcurl

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
BINS        = $(BUILD)/bin/oyster-fcgi $(BUILD)/bin/oyster-chain-watcher $(BUILD)/bin/oysterctl $(BUILD)/bin/gendoc

.PHONY: all deps build run test unit check-sanitize check-valgrind integration clean docs
all: build
build: $(BINS) $(UNIT_BIN) $(BUILD)/contracts/.stamp

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

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

include contracts/contracts.mk

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

test: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-sanitize
	@$(MAKE) --no-print-directory check-valgrind
	@$(MAKE) --no-print-directory test-contracts
	@$(MAKE) --no-print-directory integration

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
