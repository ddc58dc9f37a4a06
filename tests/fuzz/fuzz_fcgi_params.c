/*
 * Fuzz fa_params_parse (fcgi-app/fa_fcgi.h): a FastCGI PARAMS stream, as
 * nginx sends it, straight from the peer.
 *
 * Checked besides memory safety:
 *   - a failed parse leaves the params that were already there untouched
 *     (the request starts with one param parsed from a fixed stream);
 *   - every param has a NUL-free name, both halves NUL-terminated, and the
 *     count stays under max_params;
 *   - the params re-encoded canonically (1-byte lengths below 128) parse
 *     again to the same names and values, appended after the first set.
 */
#include <string.h>

#include "fa_fcgi.h"
#include "fuzz.h"
#include "banned.h"

#define MAX_PARAMS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void put_len(struct buf *b, size_t n)
{
	if (n < 128) {
		buf_addch(b, (char)n);
		return;
	}
	buf_addch(b, (char)(0x80 | (n >> 24)));
	buf_addch(b, (char)(n >> 16));
	buf_addch(b, (char)(n >> 8));
	buf_addch(b, (char)n);
}

static void check_param(const struct fa_param *pa)
{
	FUZZ_CHECK(pa->name && pa->value);
	FUZZ_CHECK(pa->value == pa->name + pa->name_len + 1);
	FUZZ_CHECK(strlen(pa->name) == pa->name_len);
	FUZZ_CHECK(pa->value[pa->value_len] == '\0');
}

static int same_param(const struct fa_param *a, const struct fa_param *b)
{
	return a->name_len == b->name_len && a->value_len == b->value_len &&
	       !memcmp(a->name, b->name, a->name_len) &&
	       !memcmp(a->value, b->value, a->value_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char first[] = "\x0b\x04SERVER_NAME" "host";
	struct fa_limits lim = FA_LIMITS_INIT;
	struct fa_request r;
	struct buf re = BUF_INIT;
	size_t n;

	lim.max_params = MAX_PARAMS;
	fa_request_init(&r, -1);
	FUZZ_CHECK(fa_params_parse(&r, first, sizeof(first) - 1, &lim) == 0);
	FUZZ_CHECK(r.nparams == 1);

	if (fa_params_parse(&r, data, size, &lim) < 0) {
		FUZZ_CHECK(r.nparams == 1);
		check_param(&r.params[0]);
		FUZZ_CHECK(!strcmp(fa_param_get(&r, "SERVER_NAME"), "host"));
		goto out;
	}
	FUZZ_CHECK(size <= lim.max_params_bytes);
	FUZZ_CHECK(r.nparams >= 1 && r.nparams <= MAX_PARAMS);
	for (size_t i = 0; i < r.nparams; i++) {
		size_t j = 0;

		check_param(&r.params[i]);
		/* lookups find the first param of that name */
		while (strcmp(r.params[j].name, r.params[i].name))
			j++;
		FUZZ_CHECK(fa_param_get(&r, r.params[i].name) == r.params[j].value);
	}

	n = r.nparams;
	for (size_t i = 1; i < n; i++) {
		put_len(&re, r.params[i].name_len);
		put_len(&re, r.params[i].value_len);
		buf_add(&re, r.params[i].name, r.params[i].name_len);
		buf_add(&re, r.params[i].value, r.params[i].value_len);
	}
	FUZZ_CHECK(re.len <= size);
	lim.max_params = 2 * n;
	FUZZ_CHECK(fa_params_parse(&r, (const unsigned char *)re.data, re.len, &lim) == 0);
	FUZZ_CHECK(r.nparams == 2 * n - 1);
	for (size_t i = 1; i < n; i++)
		FUZZ_CHECK(same_param(&r.params[i], &r.params[n + i - 1]));
out:
	buf_release(&re);
	fa_request_release(&r);
	return 0;
}
