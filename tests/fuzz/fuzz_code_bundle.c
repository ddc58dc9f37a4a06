/*
 * Fuzz code_from_bundle_json (common/code.h): the JSON bundle a user
 * uploads (POST /api/code with Content-Type application/json).
 *
 * Checked besides memory safety: an accepted bundle satisfies the shared
 * code invariants (fuzz_code.h: shape, encoding and JSON round trips) and
 * the limits; a refused one leaves the code empty with a message.  Out of
 * memory (CODE_INTERNAL) must not happen on inputs this small.
 */
#include <string.h>

#include "fuzz_code.h"
#include "banned.h"

#define MAX_TOTAL 8192
#define MAX_MODULES 8

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct code_limits lim = { MAX_TOTAL, MAX_MODULES };
	struct buf err = BUF_INIT;
	struct code c;
	int rc;

	rc = code_from_bundle_json(&c, data, size, &lim, &err);
	FUZZ_CHECK(rc == CODE_OK || rc == CODE_INVALID || rc == CODE_TOO_LARGE);
	if (rc == CODE_OK) {
		size_t total = 0;

		FUZZ_CHECK(c.n <= MAX_MODULES);
		for (size_t i = 0; i < c.n; i++)
			total += c.mods[i].len;
		FUZZ_CHECK(total <= MAX_TOTAL);
		fuzz_code_check(&c);
	} else {
		FUZZ_CHECK(c.main == NULL && c.mods == NULL && c.n == 0);
		FUZZ_CHECK(err.len > 0);
	}
	code_release(&c);
	buf_release(&err);
	return 0;
}
