/*
 * Fuzz txcode_decode_calldata (common/txcode.h): the input of a
 * transaction sent to the code contract, as a node returns it, and the
 * code_from_js that txcode_fetch applies to the result.
 *
 * Checked besides memory safety: success yields the ABI string, no longer
 * than the calldata; failure leaves js empty and explains itself in err.
 */
#include <string.h>

#include "code.h"
#include "txcode.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf js = BUF_INIT, err = BUF_INIT;
	struct code c;

	if (txcode_decode_calldata(data, size, &js, &err) < 0) {
		FUZZ_CHECK(js.len == 0);
		FUZZ_CHECK(err.len > 0);
		goto out;
	}
	FUZZ_CHECK(js.len + 4 + 32 <= size); /* selector, length word, content */
	buf_reset(&err);
	if (code_from_js(&c, js.data, js.len, NULL, &err) == CODE_OK)
		FUZZ_CHECK(c.n == 1 && c.mods[0].len == js.len);
	code_release(&c);
out:
	buf_release(&js);
	buf_release(&err);
	return 0;
}
