/*
 * Fuzz code_decode (common/code.h): the canonical encoding as read back
 * from SQLite, treated as untrusted (a corrupted or tampered database).
 *
 * Checked besides memory safety: the encoding is canonical, so a decode
 * that succeeds re-encodes to exactly the input; the result satisfies the
 * shared code invariants (fuzz_code.h); a failure leaves the code empty.
 *
 * code_decode logs every refusal with log_err (a bad store is the
 * operator's business), so this driver has libFuzzer close stderr
 * (fuzz_close_stderr in fuzz.h explains how reports stay visible).
 */
#include <string.h>

#include "fuzz_code.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	fuzz_close_stderr(argc, argv);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf enc = BUF_INIT;
	struct code c;

	if (code_decode(&c, data, size) == 0) {
		FUZZ_CHECK(code_encode(&c, &enc) == 0);
		FUZZ_CHECK(enc.len == size && !memcmp(enc.data, data, size));
		fuzz_code_check(&c);
	} else {
		FUZZ_CHECK(c.main == NULL && c.mods == NULL && c.n == 0);
	}
	code_release(&c);
	buf_release(&enc);
	return 0;
}
