/* common/base32.c against the RFC 4648 section 10 vectors (unpadded). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"

static const char *const vec[][2] = {
	{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
	{ "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
};

START_TEST(rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		unsigned char out[16];
		size_t n = 99;
		struct buf b = BUF_INIT;
		char lower[32];
		size_t len = strlen(vec[i][1]);

		ck_assert_int_eq(base32_decode(vec[i][1], len, out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, strlen(vec[i][0]));
		ck_assert(memcmp(out, vec[i][0], n) == 0);
		for (size_t j = 0; j <= len; j++)
			lower[j] = (char)(vec[i][1][j] >= 'A' && vec[i][1][j] <= 'Z' ? vec[i][1][j] + 32 : vec[i][1][j]);
		ck_assert_int_eq(base32_decode(lower, len, out, sizeof(out), &n), 0);
		ck_assert_int_eq(base32_encode((const unsigned char *)vec[i][0], strlen(vec[i][0]), &b), 0);
		ck_assert_str_eq(buf_cstr(&b), lower);
		buf_release(&b);
	}
}
END_TEST

START_TEST(rejects)
{
	unsigned char out[40];
	size_t n;

	ck_assert_int_eq(base32_decode("MZXW6===", 8, out, sizeof(out), &n), -1); /* padding */
	ck_assert_int_eq(base32_decode("MZXW1", 5, out, sizeof(out), &n), -1);    /* '1' */
	ck_assert_int_eq(base32_decode("M", 1, out, sizeof(out), &n), -1);        /* impossible length */
	ck_assert_int_eq(base32_decode("MZ", 2, out, sizeof(out), &n), -1);       /* non-zero leftover bits ("MY" is canonical) */
	ck_assert_int_eq(base32_decode("MZXW6YTBOI", 10, out, 5, &n), -1);        /* output too small */
}
END_TEST

START_TEST(txhash_roundtrip)
{
	unsigned char h[32], back[32];
	struct buf b = BUF_INIT;
	size_t n;

	for (int i = 0; i < 32; i++)
		h[i] = (unsigned char)(i * 37 + 11);
	ck_assert_int_eq(base32_encode(h, 32, &b), 0);
	ck_assert_uint_eq(b.len, 52); /* fits one DNS label */
	ck_assert_int_eq(base32_decode(b.data, b.len, back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 32);
	ck_assert(memcmp(h, back, 32) == 0);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("base32");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, rfc4648_vectors);
	tcase_add_test(tc, rejects);
	tcase_add_test(tc, txhash_roundtrip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
