# libFuzzer drivers for the parsers of untrusted bytes (tests/fuzz/README.md).
# Included by the top Makefile (after ALL_CFLAGS, LIB_SRC and LIBS):
#
#   make fuzz         run each driver FUZZ_SECONDS (60) on its corpus
#                     (build-fuzz/corpus/<driver>, seeded from tests/fuzz/seeds/)
#   make fuzz-check   build; replay every seed and every tests/fuzz/crashes/
#                     input once; fuzz each driver FUZZ_CHECK_SECONDS (5) from
#                     its seeds.  Last line: "fuzz: N passed, M failed".
#   make fuzz-build   only build the drivers (build-fuzz/bin/fuzz_*)
#
# FUZZ_TARGETS="fuzz_conf fuzz_base32" limits a run to some drivers;
# FUZZ_JOBS (2) drivers run at a time.
#
# The drivers and the project's sources are built with clang into their own
# tree: -fsanitize=fuzzer-no-link,address,undefined for every object, the
# fuzzer runtime only at link time.  Flags are the Makefile's ALL_CFLAGS
# (warnings, includes, pkg-config) without its optimisation, hardening and
# sanitizer choices.  The drivers are compiled with all the warnings and
# -Werror; the project's sources without warnings (FUZZ_LIB_WARN).

ifeq ($(strip $(LIB_SRC)),)
$(error tests/fuzz/fuzz.mk: include it after LIB_SRC is defined)
endif

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 5
FUZZ_JOBS ?= 2

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = $(filter-out $(CFLAGS) $(HARDEN) -fsanitize=% -fno-sanitize-recover=% \
			-fno-omit-frame-pointer -MMD -MP,$(ALL_CFLAGS)) \
	      -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP

# The gcc build (-Werror) is where the project's sources meet the warning
# flags; clang's extra diagnostics on them (comment-style fall-through
# annotations, libseccomp's macros...) would only be noise here.
FUZZ_LIB_WARN = -w

FUZZ_ALL     = $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS    = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/%)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

.PHONY: fuzz fuzz-check fuzz-build
fuzz-build: $(FUZZ_BINS)

# Shorter stem than the rule below, so make prefers it for the drivers.
$(FUZZ_BUILD)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WARN) -c $< -o $@

$(FUZZ_BUILD)/lib/liboyster.a: $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Keep the driver objects: only the binaries name them.
.SECONDARY: $(FUZZ_ALL:%=$(FUZZ_BUILD)/obj/tests/fuzz/%.o)

$(FUZZ_BUILD)/bin/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_BUILD)/lib/liboyster.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LIBS) -lpthread -o $@

# A build failure is reported as a failed check (the last line stays the
# summary), and the drivers that did build still run.
fuzz-check:
	@st=0; $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -k -j$(FUZZ_JOBS) fuzz-build || st=1; \
	FUZZ_BUILD_FAILED=$$st FUZZ_JOBS=$(FUZZ_JOBS) \
	  tests/fuzz/run.sh check $(FUZZ_CHECK_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz:
	@st=0; $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -k -j$(FUZZ_JOBS) fuzz-build || st=1; \
	FUZZ_BUILD_FAILED=$$st FUZZ_JOBS=$(FUZZ_JOBS) \
	  tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
