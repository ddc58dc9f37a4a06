/*
 * Fuzz code_from_js (common/code.h): a raw JavaScript module uploaded with
 * Content-Type application/javascript (and the form code from a
 * transaction's calldata takes).
 *
 * Checked besides memory safety: a module that is accepted is exactly the
 * one-module bundle main.js holding the input bytes, and satisfies the
 * shared code invariants (fuzz_code.h: encoding and JSON round trips);
 * a refused one leaves the code empty with a message, TOO_LARGE exactly
 * when the limit is passed.
 */
#include <string.h>

#include "fuzz_code.h"
#include "banned.h"

#define MAX_TOTAL 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct code_limits lim = { MAX_TOTAL, 0 };
	struct buf err = BUF_INIT;
	struct code c;
	int rc;

	rc = code_from_js(&c, data, size, &lim, &err);
	FUZZ_CHECK(rc == CODE_OK || rc == CODE_INVALID || rc == CODE_TOO_LARGE);
	FUZZ_CHECK((rc == CODE_TOO_LARGE) == (size > MAX_TOTAL));
	if (rc == CODE_OK) {
		FUZZ_CHECK(c.n == 1 && !strcmp(c.main, CODE_MAIN_JS));
		FUZZ_CHECK(!strcmp(c.mods[0].name, CODE_MAIN_JS));
		FUZZ_CHECK(c.mods[0].type == CODE_ESMODULE);
		FUZZ_CHECK(c.mods[0].len == size && !memcmp(c.mods[0].data, data, size));
		fuzz_code_check(&c);
	} else {
		FUZZ_CHECK(c.main == NULL && c.mods == NULL && c.n == 0);
		FUZZ_CHECK(err.len > 0);
	}
	code_release(&c);
	buf_release(&err);
	return 0;
}
