/*
 * Tests for common/eth/eth_hex.c (hex text <-> bytes) and
 * common/eth/eth_u256.c (256-bit numbers as text and arithmetic), the two
 * "numbers and text" helpers of the Ethereum toolkit.
 *
 * What callers rely on: the exact-size decoder never writes past its
 * array and accepts nothing but [0x]hex of the right size; failure reasons
 * read like the Rust hex crate's (the admin API copies them into 400
 * bodies); a failed decode leaves the output untouched; the input need not
 * be NUL-terminated.  For u256: conversions round-trip at the edges
 * (0, 2^64-1, 2^64, 2^256-1), overflow is detected rather than wrapped,
 * and a fee bump (x * 110 / 100) is exact with a 320-bit intermediate.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth_hex.h"
#include "eth/eth_u256.h"
#include "banned.h"

#define U256_MAX_DEC \
	"115792089237316195423570985008687907853269984665640564039457584007913129639935"

static int dec_exact(const char *s, unsigned char *out, size_t n,
		     struct buf *err)
{
	buf_reset(err);
	return eth_hex_decode(s, strlen(s), out, n, err);
}

START_TEST(test_decode_exact)
{
	unsigned char out[4], want[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct buf err = BUF_INIT;

	ck_assert_int_eq(dec_exact("deadbeef", out, 4, &err), 0);
	ck_assert_mem_eq(out, want, 4);
	memset(out, 0, 4);
	ck_assert_int_eq(dec_exact("0xDEADbeef", out, 4, &err), 0);
	ck_assert_mem_eq(out, want, 4);
	memset(out, 0, 4);
	ck_assert_int_eq(dec_exact("0XdeadBEEF", out, 4, &err), 0);
	ck_assert_mem_eq(out, want, 4);
	ck_assert_uint_eq(err.len, 0);
	/* zero bytes: "" and "0x" */
	ck_assert_int_eq(dec_exact("", out, 0, &err), 0);
	ck_assert_int_eq(dec_exact("0x", out, 0, &err), 0);
	buf_release(&err);
}
END_TEST

START_TEST(test_decode_reasons)
{
	unsigned char out[4];
	struct buf err = BUF_INIT;

	memset(out, 0x5a, sizeof(out));
	ck_assert_int_eq(dec_exact("0xdeadbee", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Odd number of digits");
	ck_assert_int_eq(dec_exact("deadbeef00", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid string length");
	ck_assert_int_eq(dec_exact("dead", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid string length");
	/* position is counted after the prefix, as hex::decode sees it */
	ck_assert_int_eq(dec_exact("0xdeagbeef", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid character 'g' at position 3");
	ck_assert_int_eq(dec_exact("de beef0", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid character ' ' at position 2");
	ck_assert_int_eq(dec_exact("deadbee\n", out, 4, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid character '\\u{a}' at position 7");
	/* a second prefix is not a prefix */
	ck_assert_int_eq(dec_exact("0x0xdead", out, 3, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid character 'x' at position 1");
	/* "x" alone, "0" alone */
	ck_assert_int_eq(dec_exact("0", out, 0, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Odd number of digits");
	/* nothing was written by any failure */
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0x5a);
	/* NULL err: reported through the log instead, still -1 */
	ck_assert_int_eq(eth_hex_decode("zz", 2, out, 1, NULL), -1);
	buf_release(&err);
}
END_TEST

/* Input is (pointer, length): neither the NUL nor bytes past len matter. */
START_TEST(test_decode_not_nul_terminated)
{
	const char s[] = "0xabcdZZZZ";
	const char nul[] = { 'a', 'b', '\0', 'd' };
	unsigned char out[2];
	struct buf err = BUF_INIT;

	ck_assert_int_eq(eth_hex_decode(s, 6, out, 2, &err), 0);
	ck_assert_uint_eq(out[0], 0xab);
	ck_assert_uint_eq(out[1], 0xcd);
	ck_assert_int_eq(eth_hex_decode(nul, sizeof(nul), out, 2, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid character '\\u{0}' at position 2");
	buf_release(&err);
}
END_TEST

START_TEST(test_decode_max_and_buf)
{
	unsigned char out[8];
	size_t n = 99;
	struct buf b = BUF_INIT, err = BUF_INIT;

	ck_assert_int_eq(eth_hex_decode_max("0x0102", 6, out, 8, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[1], 2);
	ck_assert_int_eq(eth_hex_decode_max("0x", 2, out, 8, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(eth_hex_decode_max("000102030405060708", 18, out, 8,
					    &n, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid string length");

	buf_addstr(&b, "keep");
	ck_assert_int_eq(eth_hex_decode_buf("0x00ff41", 8, &b, 16, &err), 0);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_mem_eq(b.data, "keep\x00\xff" "A", 7);
	ck_assert_int_eq(b.data[7], '\0');
	/* failures leave the buffer as it was */
	buf_reset(&err);
	ck_assert_int_eq(eth_hex_decode_buf("0x00ff4", 7, &b, 16, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Odd number of digits");
	ck_assert_int_eq(eth_hex_decode_buf("00112233", 8, &b, 3, NULL), -1);
	ck_assert_uint_eq(b.len, 7);
	/* a buf limit is respected as an allocation failure */
	b.limit = 8;
	buf_reset(&err);
	ck_assert_int_eq(eth_hex_decode_buf("0011", 4, &b, 16, &err), -1);
	ck_assert_uint_eq(b.len, 7);
	buf_release(&b);
	buf_release(&err);
}
END_TEST

START_TEST(test_encode)
{
	static const unsigned char v[] = { 0x00, 0x01, 0xab, 0xff };
	struct buf b = BUF_INIT;
	char s[ETH_HEX_STR_SIZE(4)], small[7];

	ck_assert_int_eq(eth_hex_encode(&b, v, 4, 1), 0);
	ck_assert_str_eq(b.data, "0x0001abff");
	ck_assert_int_eq(eth_hex_encode(&b, v, 2, 0), 0);
	ck_assert_str_eq(b.data, "0x0001abff0001");
	buf_reset(&b);
	ck_assert_int_eq(eth_hex_encode(&b, NULL, 0, 1), 0);
	ck_assert_str_eq(b.data, "0x");
	ck_assert_str_eq(eth_hex_str(s, sizeof(s), v, 4), "0x0001abff");
	/* too small: truncated at a byte boundary, still terminated */
	ck_assert_str_eq(eth_hex_str(small, sizeof(small), v, 4), "0x0001");
	buf_release(&b);
}
END_TEST

/* Random round trips: encode(decode(x)) == lowercase(x). */
START_TEST(test_roundtrip_random)
{
	unsigned char in[64], out[64];
	struct buf b = BUF_INIT;
	int round;

	srand(7);
	for (round = 0; round < 500; round++) {
		size_t n = (size_t)rand() % sizeof(in);

		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		buf_reset(&b);
		ck_assert_int_eq(eth_hex_encode(&b, in, n, round & 1), 0);
		ck_assert_uint_eq(b.len, 2 * n + (round & 1 ? 2 : 0));
		ck_assert_int_eq(eth_hex_decode(b.data, b.len, out, n, NULL), 0);
		ck_assert(n == 0 || memcmp(in, out, n) == 0);
	}
	buf_release(&b);
}
END_TEST

static void u256_dec(const struct eth_u256 *x, const char *want)
{
	char s[ETH_U256_DEC_SIZE];

	ck_assert_str_eq(eth_u256_to_dec(x, s), want);
}

static void parse_ok(struct eth_u256 *x, const char *s)
{
	struct buf err = BUF_INIT;

	ck_assert_msg(eth_u256_from_str(x, s, strlen(s), &err) == 0,
		      "%s: %s", s, buf_cstr(&err));
	buf_release(&err);
}

static void parse_fail(const char *s, const char *why)
{
	struct eth_u256 x;
	struct buf err = BUF_INIT;

	memset(&x, 0x5a, sizeof(x));
	ck_assert_int_eq(eth_u256_from_str(&x, s, strlen(s), &err), -1);
	ck_assert_str_eq(buf_cstr(&err), why);
	ck_assert_uint_eq(x.b[0], 0x5a);
	buf_release(&err);
}

START_TEST(test_u256_conversions)
{
	struct eth_u256 x, y;
	char q[ETH_U256_HEX_SIZE];
	uint64_t v;

	eth_u256_from_u64(&x, 0);
	ck_assert(eth_u256_is_zero(&x));
	u256_dec(&x, "0");
	ck_assert_str_eq(eth_u256_to_quantity(&x, q), "0x0");
	ck_assert_uint_eq(eth_u256_bytelen(&x), 0);

	eth_u256_from_u64(&x, UINT64_MAX);
	u256_dec(&x, "18446744073709551615");
	ck_assert_str_eq(eth_u256_to_quantity(&x, q), "0xffffffffffffffff");
	ck_assert_int_eq(eth_u256_to_u64(&x, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);

	parse_ok(&x, "18446744073709551616"); /* 2^64 */
	ck_assert_int_eq(eth_u256_to_u64(&x, &v), -1);
	ck_assert_str_eq(eth_u256_to_quantity(&x, q), "0x10000000000000000");
	ck_assert_uint_eq(eth_u256_bytelen(&x), 9);

	parse_ok(&x, U256_MAX_DEC);
	u256_dec(&x, U256_MAX_DEC);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(x.b[i], 0xff);
	parse_ok(&y, "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	ck_assert_int_eq(eth_u256_cmp(&x, &y), 0);
	/* leading zeros are not digits that count */
	parse_ok(&y, "0x000000000000000000000000000000000000000000000000000000000000000000001a");
	ck_assert_str_eq(eth_u256_to_quantity(&y, q), "0x1a");
	u256_dec(&y, "26");
	parse_ok(&y, "0X1A");
	u256_dec(&y, "26");
	parse_ok(&y, "0007");
	u256_dec(&y, "7");

	parse_fail("115792089237316195423570985008687907853269984665640564039457584007913129639936",
		   "number does not fit in 256 bits");
	parse_fail("0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		   "number does not fit in 256 bits");
	parse_fail("", "empty number");
	parse_fail("0x", "empty number");
	parse_fail("-1", "invalid decimal digit at position 0");
	parse_fail("12a", "invalid decimal digit at position 2");
	parse_fail("0x12g", "invalid hex digit at position 2");
	parse_fail(" 1", "invalid decimal digit at position 0");

	ck_assert_int_eq(eth_u256_from_be(&x, "\x01\x02", 2), 0);
	u256_dec(&x, "258");
	ck_assert_int_eq(eth_u256_from_be(&x, q, 33), -1);
}
END_TEST

START_TEST(test_u256_arith)
{
	struct eth_u256 a, b, r, max, one;
	uint64_t rem;

	parse_ok(&max, U256_MAX_DEC);
	eth_u256_from_u64(&one, 1);

	/* carries across every limb */
	parse_ok(&a, "0xffffffffffffffffffffffffffffffff");
	ck_assert_int_eq(eth_u256_add(&r, &a, &one), 0);
	u256_dec(&r, "340282366920938463463374607431768211456"); /* 2^128 */
	ck_assert_int_eq(eth_u256_sub(&r, &r, &one), 0);
	ck_assert_int_eq(eth_u256_cmp(&r, &a), 0);

	/* overflow and underflow are errors and leave r alone */
	r = a;
	ck_assert_int_eq(eth_u256_add(&r, &max, &one), -1);
	ck_assert_int_eq(eth_u256_cmp(&r, &a), 0);
	ck_assert_int_eq(eth_u256_sub(&r, &one, &max), -1);
	ck_assert_int_eq(eth_u256_mul_u64(&r, &max, 2), -1);
	ck_assert_int_eq(eth_u256_cmp(&r, &a), 0);
	ck_assert_int_eq(eth_u256_sub(&r, &max, &max), 0);
	ck_assert(eth_u256_is_zero(&r));

	/* mul/div */
	eth_u256_from_u64(&a, 1000000000); /* 1 gwei */
	ck_assert_int_eq(eth_u256_mul_u64(&r, &a, 1000000000), 0);
	u256_dec(&r, "1000000000000000000");
	ck_assert_int_eq(eth_u256_div_u64(&r, &max, 10, &rem), 0);
	ck_assert_uint_eq(rem, 5);
	u256_dec(&r, "11579208923731619542357098500868790785326998466564056403945758400791312963993");
	ck_assert_int_eq(eth_u256_div_u64(&r, &max, 0, &rem), -1);

	/* fee bump: x * 110 / 100, floor and ceil */
	parse_ok(&a, "123456789012345678901234567891");
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &a, 110, 100, 0), 0);
	u256_dec(&r, "135802467913580246791358024680");
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &a, 110, 100, 1), 0);
	u256_dec(&r, "135802467913580246791358024681");
	/* 320-bit intermediate: max * 100 / 110 does not overflow */
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &max, 100, 110, 0), 0);
	u256_dec(&r, "105265535670287450385064531826079916230245440605127785490415985461739208763577");
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &max, 110, 100, 0), -1);
	/* ceil that carries out of the top is an overflow */
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &max, 1, 1, 1), 0);
	ck_assert_int_eq(eth_u256_muldiv_u64(&r, &a, 1, 0, 0), -1);
	/* aliasing */
	eth_u256_from_u64(&b, 7);
	ck_assert_int_eq(eth_u256_add(&b, &b, &b), 0);
	u256_dec(&b, "14");
	ck_assert_int_eq(eth_u256_muldiv_u64(&b, &b, 3, 2, 0), 0);
	u256_dec(&b, "21");
}
END_TEST

static Suite *hex_suite(void)
{
	Suite *s = suite_create("eth_hex");
	TCase *tc = tcase_create("hex");
	TCase *tu = tcase_create("u256");

	tcase_add_test(tc, test_decode_exact);
	tcase_add_test(tc, test_decode_reasons);
	tcase_add_test(tc, test_decode_not_nul_terminated);
	tcase_add_test(tc, test_decode_max_and_buf);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_roundtrip_random);
	tcase_add_test(tu, test_u256_conversions);
	tcase_add_test(tu, test_u256_arith);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tu);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
