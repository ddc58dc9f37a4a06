#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H
/*
 * Shared by the libFuzzer drivers in tests/fuzz/ (one driver per parser of
 * untrusted bytes, named after what it parses; see tests/fuzz/README.md).
 *
 * A driver does more than "call the parser and see if ASan complains": it
 * checks what the parser promises in its header (a decode that succeeds
 * re-encodes to the same bytes, a limit is never passed, a failure leaves
 * the output as it was...).  FUZZ_CHECK aborts with a one-line summary on
 * the sanitizer's report fd when such an invariant breaks, so libFuzzer
 * saves the input as a crash exactly as it does for a memory error.
 *
 * Logging: the project logs JSON lines to stderr (common/log.h).  Peer
 * errors are at warn or info level, which fuzz_quiet() filters at the
 * source.  log_err() ignores the level, so a driver whose parser logs
 * every rejected input at error level (code_decode) also asks libFuzzer to
 * close stderr (fuzz_close_stderr()): libFuzzer then keeps its own output
 * and the sanitizer reports on a duplicate of the old stderr, and the
 * project's log lines go to /dev/null.
 */
#include <sanitizer/common_interface_defs.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "invariant failed at %s:%d: %s", file, line, what);
	__sanitizer_report_error_summary(msg);
	abort();
}

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

static inline void fuzz_quiet(void)
{
	log_set_level(LOG_ERROR);
}

/*
 * Put "-close_fd_mask=2" right after argv[0] (libFuzzer lets the
 * initializer rewrite argv).  A flag given on the command line comes later
 * and wins, so `-close_fd_mask=0` shows the project's log again.
 */
static inline void fuzz_close_stderr(int *argc, char ***argv)
{
	static char flag[] = "-close_fd_mask=2";
	static char *nargv[256];
	int n = *argc;

	if (n < 1 || n + 2 > (int)(sizeof(nargv) / sizeof(nargv[0])))
		return;
	nargv[0] = (*argv)[0];
	nargv[1] = flag;
	for (int i = 1; i < n; i++)
		nargv[i + 1] = (*argv)[i];
	nargv[n + 1] = NULL;
	*argc = n + 1;
	*argv = nargv;
}

/* A heap block of exactly n bytes (at least 1 for malloc's sake). */
static inline unsigned char *fuzz_alloc(size_t n)
{
	unsigned char *d = malloc(n ? n : 1);

	FUZZ_CHECK(d != NULL);
	return d;
}

/* Input bytes as a separate heap block of exactly n bytes (ASan sees reads past n). */
static inline unsigned char *fuzz_dup(const void *p, size_t n)
{
	unsigned char *d = fuzz_alloc(n);

	if (n)
		memcpy(d, p, n);
	return d;
}

#endif
