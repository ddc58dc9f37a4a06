/*
 * Fuzz base32_decode and base32_encode (common/base32.h): the DNS label
 * that carries a transaction hash in the subdomain mode (the Host header).
 *
 * Checked besides memory safety:
 *   - decoding never writes past out_max, and succeeds with a 32-byte
 *     buffer exactly when the full decode succeeds with at most 32 bytes
 *     (how fa_subdomain_match uses it);
 *   - one spelling per byte string: a string that decodes re-encodes to
 *     itself in lowercase;
 *   - the input taken as bytes encodes to ceil(8n/5) characters that
 *     decode back to those bytes.
 */
#include <ctype.h>
#include <string.h>

#include "base32.h"
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
	struct buf enc = BUF_INIT;
	size_t cap = size * 5 / 8, n = 0, n32 = 0;
	unsigned char *out = fuzz_alloc(cap);
	unsigned char *back = fuzz_alloc(size);
	unsigned char small[32];
	int ok, ok32;

	ok = base32_decode((const char *)data, size, out, cap, &n) == 0;
	ok32 = base32_decode((const char *)data, size, small, sizeof(small), &n32) == 0;
	FUZZ_CHECK(ok32 == (ok && n <= sizeof(small)));
	if (ok) {
		FUZZ_CHECK(n <= cap);
		FUZZ_CHECK(base32_encode(out, n, &enc) == 0);
		FUZZ_CHECK(enc.len == size);
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(enc.data[i] == tolower(data[i]));
		if (ok32)
			FUZZ_CHECK(n32 == n && !memcmp(small, out, n));
	}

	buf_reset(&enc);
	FUZZ_CHECK(base32_encode(data, size, &enc) == 0);
	FUZZ_CHECK(enc.len == (size * 8 + 4) / 5);
	FUZZ_CHECK(base32_decode(enc.len ? enc.data : "", enc.len, back, size, &n) == 0);
	FUZZ_CHECK(n == size && !memcmp(back, data, size));

	free(out);
	free(back);
	buf_release(&enc);
	return 0;
}
