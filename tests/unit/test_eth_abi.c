/*
 * Tests for common/eth/eth_abi.c.
 *
 * Published vectors: the Solidity ABI specification's examples, byte for
 * byte (baz(uint32,bool), bar(bytes3[2]), sam(bytes,bool,uint256[]), and
 * the "Use of Dynamic Types" section's f(uint256,uint32[],bytes10,bytes)
 * and g(uint256[][],string[])), encoded and decoded back.
 *
 * Cross-checks against foundry's cast for the protocol's own types: the
 * JobCreated event data (bytes32,bytes,uint256,address[]) and the
 * submitOutput calldata, encoded by us == `cast abi-encode` / `cast
 * calldata`, and decoded by `cast abi-decode` / by us from cast's bytes;
 * plus nested tuples with negative ints, selectors and event topics.
 *
 * Attacks on the decoder: offsets and lengths outside the data or above
 * 2^64, array counts that would allocate gigabytes, offsets that alias one
 * blob many times (a decompression bomb), dirty uintN/intN/address/bool/
 * bytesN words, every truncation of a valid encoding, random byte flips,
 * too-deep or malformed type strings.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eth/eth_abi.h"
#include "eth/eth_hex.h"
#include "eth/keccak.h"
#include "banned.h"

/* ---- helpers ---- */

static void unhex(struct buf *out, const char *hex)
{
	buf_reset(out);
	ck_assert_int_eq(eth_hex_decode_buf(hex, strlen(hex), out, 1 << 22, NULL), 0);
}

static void assert_hex(const struct buf *b, const char *want)
{
	struct buf h = BUF_INIT;

	eth_hex_encode(&h, b->data, b->len, 1);
	ck_assert_str_eq(buf_cstr(&h), want);
	buf_release(&h);
}

static void add_u64_word(struct buf *b, uint64_t v)
{
	unsigned char w[32];

	memset(w, 0, 32);
	for (int i = 31; i >= 24; i--, v >>= 8)
		w[i] = (unsigned char)v;
	buf_add(b, w, 32);
}

static void add_fill_word(struct buf *b, unsigned char fill)
{
	unsigned char w[32];

	memset(w, fill, 32);
	buf_add(b, w, 32);
}

static const char *cast_path(void)
{
	const char *p = getenv("OYSTER_CAST");

	return p && *p ? p : "node_modules/@foundry-rs/cast-linux-amd64/bin/cast";
}

static int have_cast(void)
{
	if (access(cast_path(), X_OK) == 0)
		return 1;
	fprintf(stderr, "SKIP: cast not found at %s (set OYSTER_CAST)\n",
		cast_path());
	return 0;
}

static int run(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	char chunk[4096];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_reset(out);
	f = popen(cmd.data, "r");
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	st = pclose(f);
	while (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	buf_release(&cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void decode_fails(const char *type, const struct buf *in,
			 const char *why)
{
	struct eth_abi_val *v = (struct eth_abi_val *)1;
	struct buf err = BUF_INIT;

	ck_assert_int_eq(eth_abi_decode(type, in->data, in->len, &v, &err), -1);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(buf_cstr(&err), why) != NULL,
		      "%s: \"%s\" lacks \"%s\"", type, buf_cstr(&err), why);
	buf_release(&err);
}

/* ---- Solidity ABI specification examples ---- */

START_TEST(test_spec_simple_examples)
{
	struct buf out = BUF_INIT;
	struct eth_abi_val *a, *arr, *v;
	unsigned char sel[4], b3[3];
	uint64_t x;
	int flag;

	/* baz(uint32 x, bool y) with 69, true */
	a = eth_abi_val_tuple();
	eth_abi_append(a, eth_abi_val_uint_u64(69));
	eth_abi_append(a, eth_abi_val_bool(1));
	ck_assert_int_eq(eth_abi_encode_call("baz(uint32,bool)", a, &out), 0);
	assert_hex(&out, "0xcdcd77c0"
		   "0000000000000000000000000000000000000000000000000000000000000045"
		   "0000000000000000000000000000000000000000000000000000000000000001");
	eth_abi_val_free(a);
	ck_assert_int_eq(eth_abi_decode_call("baz(uint32,bool)", out.data, out.len,
					     &v, NULL), 0);
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(v, 0), &x), 0);
	ck_assert_uint_eq(x, 69);
	ck_assert_int_eq(eth_abi_get_bool(eth_abi_item(v, 1), &flag), 0);
	ck_assert_int_eq(flag, 1);
	eth_abi_val_free(v);

	/* bar(bytes3[2]) with ["abc", "def"] */
	buf_reset(&out);
	a = eth_abi_val_tuple();
	arr = eth_abi_val_array();
	eth_abi_append(arr, eth_abi_val_fbytes("abc", 3));
	eth_abi_append(arr, eth_abi_val_fbytes("def", 3));
	eth_abi_append(a, arr);
	ck_assert_int_eq(eth_abi_encode_call("bar(bytes3[2])", a, &out), 0);
	assert_hex(&out, "0xfce353f6"
		   "6162630000000000000000000000000000000000000000000000000000000000"
		   "6465660000000000000000000000000000000000000000000000000000000000");
	eth_abi_val_free(a);
	ck_assert_int_eq(eth_abi_decode_call("bar(bytes3[2])", out.data, out.len,
					     &v, NULL), 0);
	ck_assert_uint_eq(eth_abi_count(eth_abi_item(v, 0)), 2);
	ck_assert_int_eq(eth_abi_get_fbytes(eth_abi_item(eth_abi_item(v, 0), 1),
					    b3, 3), 0);
	ck_assert_mem_eq(b3, "def", 3);
	eth_abi_val_free(v);

	/* sam(bytes,bool,uint256[]) with "dave", true, [1,2,3] */
	buf_reset(&out);
	a = eth_abi_val_tuple();
	eth_abi_append(a, eth_abi_val_bytes("dave", 4));
	eth_abi_append(a, eth_abi_val_bool(1));
	arr = eth_abi_val_array();
	for (uint64_t i = 1; i <= 3; i++)
		eth_abi_append(arr, eth_abi_val_uint_u64(i));
	eth_abi_append(a, arr);
	ck_assert_int_eq(eth_abi_encode_call("sam(bytes,bool,uint256[])", a, &out), 0);
	assert_hex(&out, "0xa5643bf2"
		   "0000000000000000000000000000000000000000000000000000000000000060"
		   "0000000000000000000000000000000000000000000000000000000000000001"
		   "00000000000000000000000000000000000000000000000000000000000000a0"
		   "0000000000000000000000000000000000000000000000000000000000000004"
		   "6461766500000000000000000000000000000000000000000000000000000000"
		   "0000000000000000000000000000000000000000000000000000000000000003"
		   "0000000000000000000000000000000000000000000000000000000000000001"
		   "0000000000000000000000000000000000000000000000000000000000000002"
		   "0000000000000000000000000000000000000000000000000000000000000003");
	eth_abi_val_free(a);

	eth_abi_selector("baz(uint32,bool)", sel);
	ck_assert_mem_eq(sel, "\xcd\xcd\x77\xc0", 4);
	buf_release(&out);
}
END_TEST

/* "Use of Dynamic Types": f(uint256,uint32[],bytes10,bytes). */
START_TEST(test_spec_dynamic_f)
{
	static const char want[] = "0x8be65246"
		"0000000000000000000000000000000000000000000000000000000000000123"
		"0000000000000000000000000000000000000000000000000000000000000080"
		"3132333435363738393000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000e0"
		"0000000000000000000000000000000000000000000000000000000000000002"
		"0000000000000000000000000000000000000000000000000000000000000456"
		"0000000000000000000000000000000000000000000000000000000000000789"
		"000000000000000000000000000000000000000000000000000000000000000d"
		"48656c6c6f2c20776f726c642100000000000000000000000000000000000000";
	struct buf out = BUF_INIT;
	struct eth_abi_val *a, *arr, *v;
	const unsigned char *p;
	unsigned char b10[10];
	size_t n;
	uint64_t x;

	a = eth_abi_val_tuple();
	eth_abi_append(a, eth_abi_val_uint_u64(0x123));
	arr = eth_abi_val_array();
	eth_abi_append(arr, eth_abi_val_uint_u64(0x456));
	eth_abi_append(arr, eth_abi_val_uint_u64(0x789));
	eth_abi_append(a, arr);
	eth_abi_append(a, eth_abi_val_fbytes("1234567890", 10));
	eth_abi_append(a, eth_abi_val_bytes("Hello, world!", 13));
	ck_assert_int_eq(eth_abi_encode_call("f(uint256,uint32[],bytes10,bytes)", a,
					     &out), 0);
	assert_hex(&out, want);
	eth_abi_val_free(a);

	ck_assert_int_eq(eth_abi_decode_call("f(uint256,uint32[],bytes10,bytes)",
					     out.data, out.len, &v, NULL), 0);
	ck_assert_int_eq(eth_abi_kind(v), ETH_ABI_TUPLE);
	ck_assert_uint_eq(eth_abi_count(v), 4);
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(v, 0), &x), 0);
	ck_assert_uint_eq(x, 0x123);
	arr = (struct eth_abi_val *)eth_abi_item(v, 1);
	ck_assert_int_eq(eth_abi_kind(arr), ETH_ABI_ARRAY);
	ck_assert_uint_eq(eth_abi_count(arr), 2);
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(arr, 1), &x), 0);
	ck_assert_uint_eq(x, 0x789);
	ck_assert_int_eq(eth_abi_get_fbytes(eth_abi_item(v, 2), b10, 10), 0);
	ck_assert_mem_eq(b10, "1234567890", 10);
	ck_assert_int_eq(eth_abi_get_bytes(eth_abi_item(v, 3), &p, &n), 0);
	ck_assert_uint_eq(n, 13);
	ck_assert_mem_eq(p, "Hello, world!", 13);
	/* accessor type checks */
	ck_assert_int_eq(eth_abi_get_fbytes(eth_abi_item(v, 2), b10, 9), -1);
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(v, 3), &x), -1);
	ck_assert_ptr_null(eth_abi_item(v, 4));
	ck_assert_ptr_null(eth_abi_item(eth_abi_item(v, 0), 0));
	eth_abi_val_free(v);

	/* wrong selector */
	{
		struct buf err = BUF_INIT;

		ck_assert_int_eq(eth_abi_decode_call("f(uint256,uint32[],bytes10,bytes32)",
						     out.data, out.len, &v, &err), -1);
		ck_assert_msg(strstr(buf_cstr(&err), "selector 0x8be65246 is not"),
			      "%s", buf_cstr(&err));
		ck_assert_int_eq(eth_abi_decode_call("f(uint256)", out.data, 3, &v, NULL), -1);
		buf_release(&err);
	}
	buf_release(&out);
}
END_TEST

/* "Use of Dynamic Types": g(uint256[][],string[]). */
START_TEST(test_spec_dynamic_g)
{
	static const char want[] = "0x2289b18c"
		"0000000000000000000000000000000000000000000000000000000000000040"
		"0000000000000000000000000000000000000000000000000000000000000140"
		"0000000000000000000000000000000000000000000000000000000000000002"
		"0000000000000000000000000000000000000000000000000000000000000040"
		"00000000000000000000000000000000000000000000000000000000000000a0"
		"0000000000000000000000000000000000000000000000000000000000000002"
		"0000000000000000000000000000000000000000000000000000000000000001"
		"0000000000000000000000000000000000000000000000000000000000000002"
		"0000000000000000000000000000000000000000000000000000000000000001"
		"0000000000000000000000000000000000000000000000000000000000000003"
		"0000000000000000000000000000000000000000000000000000000000000003"
		"0000000000000000000000000000000000000000000000000000000000000060"
		"00000000000000000000000000000000000000000000000000000000000000a0"
		"00000000000000000000000000000000000000000000000000000000000000e0"
		"0000000000000000000000000000000000000000000000000000000000000003"
		"6f6e650000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000003"
		"74776f0000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000005"
		"7468726565000000000000000000000000000000000000000000000000000000";
	struct buf out = BUF_INIT;
	struct eth_abi_val *a, *outer, *inner, *strs, *v;
	const char *s;
	size_t n;
	uint64_t x;

	a = eth_abi_val_tuple();
	outer = eth_abi_val_array();
	inner = eth_abi_val_array();
	eth_abi_append(inner, eth_abi_val_uint_u64(1));
	eth_abi_append(inner, eth_abi_val_uint_u64(2));
	eth_abi_append(outer, inner);
	inner = eth_abi_val_array();
	eth_abi_append(inner, eth_abi_val_uint_u64(3));
	eth_abi_append(outer, inner);
	eth_abi_append(a, outer);
	strs = eth_abi_val_array();
	eth_abi_append(strs, eth_abi_val_string("one"));
	eth_abi_append(strs, eth_abi_val_string("two"));
	eth_abi_append(strs, eth_abi_val_string("three"));
	eth_abi_append(a, strs);
	ck_assert_int_eq(eth_abi_encode_call("g(uint256[][],string[])", a, &out), 0);
	assert_hex(&out, want);
	eth_abi_val_free(a);

	ck_assert_int_eq(eth_abi_decode_call("g(uint256[][],string[])", out.data,
					     out.len, &v, NULL), 0);
	ck_assert_uint_eq(eth_abi_count(eth_abi_item(v, 0)), 2);
	ck_assert_uint_eq(eth_abi_count(eth_abi_item(eth_abi_item(v, 0), 0)), 2);
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(eth_abi_item(eth_abi_item(v, 0), 1), 0),
					 &x), 0);
	ck_assert_uint_eq(x, 3);
	ck_assert_int_eq(eth_abi_get_string(eth_abi_item(eth_abi_item(v, 1), 2), &s, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(s, "three");
	/* a string is not bytes32 and not a uint */
	ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(eth_abi_item(v, 1), 2), &x), -1);
	eth_abi_val_free(v);
	buf_release(&out);
}
END_TEST

/* ---- protocol types against cast ---- */

static struct eth_abi_val *job_created(const unsigned char hash[32],
				       const unsigned char *in, size_t n,
				       uint64_t deadline,
				       const unsigned char (*addrs)[20], size_t na)
{
	struct eth_abi_val *t = eth_abi_val_tuple(), *arr = eth_abi_val_array();

	eth_abi_append(t, eth_abi_val_fbytes(hash, 32));
	eth_abi_append(t, eth_abi_val_bytes(in, n));
	eth_abi_append(t, eth_abi_val_uint_u64(deadline));
	for (size_t i = 0; i < na; i++)
		eth_abi_append(arr, eth_abi_val_address(addrs[i]));
	eth_abi_append(t, arr);
	return t;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

#define JOB_TYPE "(bytes32,bytes,uint256,address[])"

START_TEST(test_job_created_vs_cast)
{
	static const size_t sizes[] = { 0, 1, 31, 32, 33, 100 };
	unsigned char hash[32], in[100], addrs[3][20], got[32];
	struct buf ours = BUF_INIT, cast = BUF_INIT, hx = BUF_INIT,
		   list = BUF_INIT, want = BUF_INIT;
	struct eth_abi_val *v, *d;
	const unsigned char *p;
	size_t n, k, i;
	uint64_t x;

	if (!have_cast())
		return;
	srand(11);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t na = k % 4;
		uint64_t deadline = 1000 + 7919 * k;

		for (i = 0; i < 32; i++)
			hash[i] = (unsigned char)rand();
		for (i = 0; i < sizes[k]; i++)
			in[i] = (unsigned char)rand();
		for (i = 0; i < na * 20; i++)
			addrs[i / 20][i % 20] = (unsigned char)rand();

		v = job_created(hash, in, sizes[k], deadline,
				(const unsigned char (*)[20])addrs, na);
		buf_reset(&ours);
		ck_assert_int_eq(eth_abi_encode(JOB_TYPE, v, &ours), 0);
		eth_abi_val_free(v);

		buf_reset(&list);
		buf_addch(&list, '[');
		for (i = 0; i < na; i++) {
			if (i)
				buf_addch(&list, ',');
			eth_hex_encode(&list, addrs[i], 20, 1);
		}
		buf_addch(&list, ']');
		buf_reset(&hx);
		eth_hex_encode(&hx, hash, 32, 1);
		buf_addch(&hx, ' ');
		eth_hex_encode(&hx, in, sizes[k], 1);
		ck_assert_int_eq(run(&cast, "%s abi-encode 'f(bytes32,bytes,uint256,address[])' %s %llu '%s'",
				     cast_path(), hx.data, (unsigned long long)deadline,
				     list.data), 0);
		buf_reset(&want);
		eth_hex_encode(&want, ours.data, ours.len, 1);
		ck_assert_str_eq(cast.data, want.data);

		/* cast decodes ours to the same values */
		ck_assert_int_eq(run(&cast, "%s abi-decode -i 'f(bytes32,bytes,uint256,address[])' %s | sed 's/ \\[.*\\]$//' | tr '\\n' ' '",
				     cast_path(), want.data), 0);
		lower(cast.data);
		buf_reset(&want);
		eth_hex_encode(&want, hash, 32, 1);
		buf_addch(&want, ' ');
		eth_hex_encode(&want, in, sizes[k], 1);
		buf_addf(&want, " %llu %s ", (unsigned long long)deadline, "");
		want.len--; /* drop the extra space */
		want.data[want.len] = '\0';
		buf_addch(&want, '[');
		for (i = 0; i < na; i++) {
			if (i)
				buf_addstr(&want, ", ");
			eth_hex_encode(&want, addrs[i], 20, 1);
		}
		buf_addstr(&want, "] ");
		ck_assert_str_eq(cast.data, want.data);

		/* and we decode our (== cast's) bytes back */
		ck_assert_int_eq(eth_abi_decode(JOB_TYPE, ours.data, ours.len, &d, NULL), 0);
		ck_assert_int_eq(eth_abi_get_fbytes(eth_abi_item(d, 0), got, 32), 0);
		ck_assert_mem_eq(got, hash, 32);
		ck_assert_int_eq(eth_abi_get_bytes(eth_abi_item(d, 1), &p, &n), 0);
		ck_assert_uint_eq(n, sizes[k]);
		ck_assert(n == 0 || memcmp(p, in, n) == 0);
		ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(d, 2), &x), 0);
		ck_assert_uint_eq(x, deadline);
		ck_assert_uint_eq(eth_abi_count(eth_abi_item(d, 3)), na);
		for (i = 0; i < na; i++) {
			ck_assert_int_eq(eth_abi_get_address(eth_abi_item(eth_abi_item(d, 3), i),
							     got), 0);
			ck_assert_mem_eq(got, addrs[i], 20);
		}
		eth_abi_val_free(d);
	}
	buf_release(&ours);
	buf_release(&cast);
	buf_release(&hx);
	buf_release(&list);
	buf_release(&want);
}
END_TEST

#define SUBMIT_SIG "submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)"

START_TEST(test_submit_output_vs_cast)
{
	unsigned char sig[65], out[70];
	struct buf ours = BUF_INIT, cast = BUF_INIT, hs = BUF_INIT, ho = BUF_INIT,
		   want = BUF_INIT;
	struct eth_abi_val *a, *d;
	struct eth_u256 job, got;
	const unsigned char *p;
	size_t n;
	uint64_t x;
	int round;

	if (!have_cast())
		return;
	srand(12);
	for (round = 0; round < 4; round++) {
		size_t olen = round == 0 ? 0 : round == 1 ? 32 : (size_t)(rand() % 70);

		for (int i = 0; i < 65; i++)
			sig[i] = (unsigned char)rand();
		for (size_t i = 0; i < olen; i++)
			out[i] = (unsigned char)rand();
		/* a job id above 2^64 */
		eth_u256_zero(&job);
		job.b[20] = (unsigned char)(round + 1);
		job.b[31] = 7;

		a = eth_abi_val_tuple();
		eth_abi_append(a, eth_abi_val_bytes(sig, 65));
		eth_abi_append(a, eth_abi_val_uint(&job));
		eth_abi_append(a, eth_abi_val_bytes(out, olen));
		eth_abi_append(a, eth_abi_val_uint_u64(1234));
		eth_abi_append(a, eth_abi_val_uint_u64((uint64_t)round));
		eth_abi_append(a, eth_abi_val_uint_u64(1700000000 + (uint64_t)round));
		buf_reset(&ours);
		ck_assert_int_eq(eth_abi_encode_call(SUBMIT_SIG, a, &ours), 0);
		eth_abi_val_free(a);

		buf_reset(&hs);
		eth_hex_encode(&hs, sig, 65, 1);
		buf_reset(&ho);
		eth_hex_encode(&ho, out, olen, 1);
		{
			char q[ETH_U256_HEX_SIZE];

			ck_assert_int_eq(run(&cast, "%s calldata '%s' %s %s %s 1234 %d %d",
					     cast_path(), SUBMIT_SIG, hs.data,
					     eth_u256_to_quantity(&job, q), ho.data, round,
					     1700000000 + round), 0);
		}
		buf_reset(&want);
		eth_hex_encode(&want, ours.data, ours.len, 1);
		ck_assert_str_eq(cast.data, want.data);

		ck_assert_int_eq(eth_abi_decode_call(SUBMIT_SIG, ours.data, ours.len, &d,
						     NULL), 0);
		ck_assert_uint_eq(eth_abi_count(d), 6);
		ck_assert_int_eq(eth_abi_get_bytes(eth_abi_item(d, 0), &p, &n), 0);
		ck_assert_uint_eq(n, 65);
		ck_assert_mem_eq(p, sig, 65);
		ck_assert_int_eq(eth_abi_get_u256(eth_abi_item(d, 1), &got), 0);
		ck_assert_int_eq(eth_u256_cmp(&got, &job), 0);
		ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(d, 1), &x), -1); /* > 2^64 */
		ck_assert_int_eq(eth_abi_get_bytes(eth_abi_item(d, 2), &p, &n), 0);
		ck_assert_uint_eq(n, olen);
		ck_assert_int_eq(eth_abi_get_u64(eth_abi_item(d, 4), &x), 0);
		ck_assert_uint_eq(x, (uint64_t)round);
		eth_abi_val_free(d);
	}
	buf_release(&ours);
	buf_release(&cast);
	buf_release(&hs);
	buf_release(&ho);
	buf_release(&want);
}
END_TEST

/* Nested tuples, negative ints, a top-level single dynamic type. */
START_TEST(test_nested_vs_cast)
{
	struct buf ours = BUF_INIT, cast = BUF_INIT, want = BUF_INIT;
	struct eth_abi_val *t, *arr, *e;
	unsigned char w[32];

	if (!have_cast())
		return;
	t = eth_abi_val_tuple();
	arr = eth_abi_val_array();
	e = eth_abi_val_tuple();
	eth_abi_append(e, eth_abi_val_uint_u64(1));
	eth_abi_append(e, eth_abi_val_bytes("\x12", 1));
	eth_abi_append(arr, e);
	e = eth_abi_val_tuple();
	eth_abi_append(e, eth_abi_val_uint_u64(2));
	eth_abi_append(e, eth_abi_val_bytes("", 0));
	eth_abi_append(arr, e);
	eth_abi_append(t, arr);
	eth_abi_append(t, eth_abi_val_int_i64(-128));
	eth_abi_append(t, eth_abi_val_int_i64(-5));
	ck_assert_int_eq(eth_abi_encode("((uint256,bytes)[],int8,int256)", t, &ours), 0);
	ck_assert_int_eq(run(&cast, "%s abi-encode 'f((uint256,bytes)[],int8,int256)' '[(1,0x12),(2,0x)]' -128 -5",
			     cast_path()), 0);
	eth_hex_encode(&want, ours.data, ours.len, 1);
	ck_assert_str_eq(cast.data, want.data);
	eth_abi_val_free(t);
	{
		struct eth_abi_val *d;

		ck_assert_int_eq(eth_abi_decode("((uint256,bytes)[],int8,int256)", ours.data,
						ours.len, &d, NULL), 0);
		ck_assert_int_eq(eth_abi_get_word(eth_abi_item(d, 1), w), 0);
		ck_assert_uint_eq(w[0], 0xff);
		ck_assert_uint_eq(w[31], 0x80);
		ck_assert_uint_eq(eth_abi_count(eth_abi_item(d, 0)), 2);
		eth_abi_val_free(d);
	}

	/* "bytes" alone encodes as the argument list (bytes) */
	buf_reset(&ours);
	e = eth_abi_val_bytes("hello", 5);
	ck_assert_int_eq(eth_abi_encode("bytes", e, &ours), 0);
	eth_abi_val_free(e);
	ck_assert_int_eq(run(&cast, "%s abi-encode 'f(bytes)' 0x68656c6c6f", cast_path()), 0);
	buf_reset(&want);
	eth_hex_encode(&want, ours.data, ours.len, 1);
	ck_assert_str_eq(cast.data, want.data);
	{
		struct eth_abi_val *d;
		const unsigned char *p;
		size_t n;

		ck_assert_int_eq(eth_abi_decode("bytes", ours.data, ours.len, &d, NULL), 0);
		ck_assert_int_eq(eth_abi_get_bytes(d, &p, &n), 0);
		ck_assert_uint_eq(n, 5);
		eth_abi_val_free(d);
	}

	/* static tuple inside a fixed array: inline, no offsets */
	buf_reset(&ours);
	t = eth_abi_val_tuple();
	arr = eth_abi_val_array();
	for (int i = 0; i < 2; i++) {
		unsigned char addr[20];

		memset(addr, 0x11 * (i + 1), 20);
		e = eth_abi_val_tuple();
		eth_abi_append(e, eth_abi_val_address(addr));
		eth_abi_append(e, eth_abi_val_bool(i));
		eth_abi_append(arr, e);
	}
	eth_abi_append(t, arr);
	eth_abi_append(t, eth_abi_val_string("x"));
	ck_assert_int_eq(eth_abi_encode("((address,bool)[2],string)", t, &ours), 0);
	eth_abi_val_free(t);
	ck_assert_int_eq(run(&cast, "%s abi-encode 'f((address,bool)[2],string)' "
			     "'[(0x1111111111111111111111111111111111111111,false),"
			     "(0x2222222222222222222222222222222222222222,true)]' x",
			     cast_path()), 0);
	buf_reset(&want);
	eth_hex_encode(&want, ours.data, ours.len, 1);
	ck_assert_str_eq(cast.data, want.data);
	buf_release(&ours);
	buf_release(&cast);
	buf_release(&want);
}
END_TEST

/* Calldata of the code transaction, and the signatures' hashes. */
START_TEST(test_selectors_topics_and_code_calldata)
{
	unsigned char sel[4], topic[32];
	char hex[ETH_HEX_STR_SIZE(32)];
	struct buf cd = BUF_INIT, cast = BUF_INIT;
	struct eth_abi_val *v;
	const char *s;
	size_t n;
	const char code[] = "export default { async fetch(r) { return new Response('hi') } }";

	eth_abi_selector("saveCodeInCallData(string)", sel);
	ck_assert_mem_eq(sel, "\xff\x7c\xda\xf3", 4); /* PROTOCOL.md */
	eth_abi_event_topic("Transfer(address,address,uint256)", topic);
	ck_assert_str_eq(eth_hex_str(hex, sizeof(hex), topic, 32),
			 "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
	if (!have_cast())
		goto out;
	eth_abi_event_topic("JobCreated(uint256,uint8,address,bytes32,bytes,uint256,address[])",
			    topic);
	ck_assert_int_eq(run(&cast, "%s sig-event 'JobCreated(uint256 indexed jobId, uint8 indexed env, address indexed jobOwner, bytes32 codehash, bytes codeInputs, uint256 deadline, address[] selectedExecutors)'",
			     cast_path()), 0);
	ck_assert_str_eq(cast.data, eth_hex_str(hex, sizeof(hex), topic, 32));
	eth_abi_selector(SUBMIT_SIG, sel);
	ck_assert_int_eq(run(&cast, "%s sig '%s'", cast_path(), SUBMIT_SIG), 0);
	ck_assert_str_eq(cast.data, eth_hex_str(hex, sizeof(hex), sel, 4));

	ck_assert_int_eq(run(&cast, "%s calldata 'saveCodeInCallData(string,bytes)' \"%s\" 0xabcd",
			     cast_path(), code), 0);
	unhex(&cd, cast.data);
	ck_assert_int_eq(eth_abi_decode_call("saveCodeInCallData(string,bytes)", cd.data,
					     cd.len, &v, NULL), 0);
	ck_assert_int_eq(eth_abi_get_string(eth_abi_item(v, 0), &s, &n), 0);
	ck_assert_uint_eq(n, strlen(code));
	ck_assert_str_eq(s, code);
	eth_abi_val_free(v);
	/* the older one-argument form decodes the same string */
	ck_assert_int_eq(run(&cast, "%s calldata 'saveCodeInCallData(string)' \"%s\"",
			     cast_path(), code), 0);
	unhex(&cd, cast.data);
	ck_assert_int_eq(eth_abi_decode_call("saveCodeInCallData(string)", cd.data,
					     cd.len, &v, NULL), 0);
	ck_assert_int_eq(eth_abi_get_string(eth_abi_item(v, 0), &s, &n), 0);
	ck_assert_str_eq(s, code);
	eth_abi_val_free(v);
out:
	buf_release(&cd);
	buf_release(&cast);
}
END_TEST

/* ---- value checks ---- */

START_TEST(test_encode_value_checks)
{
	struct buf out = BUF_INIT;
	struct eth_abi_val *v, *t;
	struct eth_u256 big;

	buf_addstr(&out, "keep");
	/* uint8 range */
	v = eth_abi_val_uint_u64(255);
	ck_assert_int_eq(eth_abi_encode("uint8", v, &out), 0);
	eth_abi_val_free(v);
	out.len = 4;
	v = eth_abi_val_uint_u64(256);
	ck_assert_int_eq(eth_abi_encode("uint8", v, &out), -1);
	ck_assert_int_eq(eth_abi_encode("uint16", v, &out), 0);
	eth_abi_val_free(v);
	out.len = 4;
	memset(big.b, 0xff, 32);
	v = eth_abi_val_uint(&big);
	ck_assert_int_eq(eth_abi_encode("uint248", v, &out), -1);
	ck_assert_int_eq(eth_abi_encode("uint", v, &out), 0);
	eth_abi_val_free(v);
	out.len = 4;
	/* int8 range */
	v = eth_abi_val_int_i64(-129);
	ck_assert_int_eq(eth_abi_encode("int8", v, &out), -1);
	ck_assert_int_eq(eth_abi_encode("int16", v, &out), 0);
	eth_abi_val_free(v);
	out.len = 4;
	v = eth_abi_val_int_i64(128);
	ck_assert_int_eq(eth_abi_encode("int8", v, &out), -1);
	eth_abi_val_free(v);
	/* kinds must match */
	v = eth_abi_val_uint_u64(1);
	ck_assert_int_eq(eth_abi_encode("int256", v, &out), -1);
	ck_assert_int_eq(eth_abi_encode("address", v, &out), -1);
	ck_assert_int_eq(eth_abi_encode("(uint256)", v, &out), -1);
	eth_abi_val_free(v);
	v = eth_abi_val_string("x");
	ck_assert_int_eq(eth_abi_encode("bytes", v, &out), -1);
	eth_abi_val_free(v);
	v = eth_abi_val_fbytes("abc", 3);
	ck_assert_int_eq(eth_abi_encode("bytes4", v, &out), -1);
	eth_abi_val_free(v);
	ck_assert_ptr_null(eth_abi_val_fbytes("", 0));
	ck_assert_ptr_null(eth_abi_val_fbytes("x", 33));
	/* counts */
	t = eth_abi_val_tuple();
	eth_abi_append(t, eth_abi_val_uint_u64(1));
	ck_assert_int_eq(eth_abi_encode("(uint256,uint256)", t, &out), -1);
	eth_abi_val_free(t);
	t = eth_abi_val_array();
	eth_abi_append(t, eth_abi_val_uint_u64(1));
	ck_assert_int_eq(eth_abi_encode("uint256[2]", t, &out), -1);
	ck_assert_int_eq(eth_abi_encode("uint256[1]", t, &out), 0);
	ck_assert_uint_eq(out.len, 4 + 32);
	out.len = 4;
	ck_assert_int_eq(eth_abi_encode("uint256[]", t, &out), 0);
	ck_assert_uint_eq(out.len, 4 + 96); /* offset, count, item */
	out.len = 4;
	eth_abi_val_free(t);

	/* a broken tree (a NULL child) is refused; out keeps its content */
	t = eth_abi_val_tuple();
	eth_abi_append(t, eth_abi_val_uint_u64(1));
	ck_assert_int_eq(eth_abi_append(t, NULL), -1);
	ck_assert_int_eq(eth_abi_encode("(uint256)", t, &out), -1);
	ck_assert_int_eq(eth_abi_encode_call("f(uint256)", t, &out), -1);
	eth_abi_val_free(t);
	/* appending to a leaf frees the child, marks the leaf */
	v = eth_abi_val_uint_u64(1);
	ck_assert_int_eq(eth_abi_append(v, eth_abi_val_string("leak?")), -1);
	ck_assert_int_eq(eth_abi_encode("uint256", v, &out), -1);
	eth_abi_val_free(v);
	ck_assert_int_eq(eth_abi_append(NULL, eth_abi_val_string("x")), -1);
	ck_assert_int_eq(eth_abi_encode("uint256", NULL, &out), -1);
	/* nested failure deep in a tail restores the output too */
	t = eth_abi_val_tuple();
	eth_abi_append(t, eth_abi_val_bytes("abc", 3));
	eth_abi_append(t, eth_abi_val_uint_u64(300));
	ck_assert_int_eq(eth_abi_encode("(bytes,uint8)", t, &out), -1);
	eth_abi_val_free(t);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_str_eq(out.data, "keep");

	/* no arguments */
	t = eth_abi_val_tuple();
	ck_assert_int_eq(eth_abi_encode_call("drain()", t, &out), 0);
	ck_assert_uint_eq(out.len, 8);
	eth_abi_val_free(t);
	buf_release(&out);
}
END_TEST

START_TEST(test_type_strings)
{
	static const char *const bad[] = {
		"", "uint7", "uint264", "uint0", "uint01", "int", "bytes0", "bytes33",
		"foo", "Uint256", "uint256 x", " uint256", "(uint256", "(uint256,)",
		"(,uint256)", "uint256]", "uint256[", "uint256[0]", "uint256[65537]",
		"uint256[1x]", "(())", "((),uint256)", "address5", "bool1", "string1",
		"uint256,uint256", "()[]", "function", "fixed128x18",
	};
	struct buf err = BUF_INIT, deep = BUF_INIT, in = BUF_INIT;
	struct eth_abi_val *v;
	size_t i;

	/* "int" alone is int256 and valid: remove it from the bad list check */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!strcmp(bad[i], "int"))
			continue;
		buf_reset(&err);
		ck_assert_msg(eth_abi_decode(bad[i], "", 0, &v, &err) == -1,
			      "type \"%s\" accepted", bad[i]);
		ck_assert_msg(strstr(buf_cstr(&err), "bad type string") != NULL,
			      "%s: %s", bad[i], buf_cstr(&err));
	}
	add_u64_word(&in, 5);
	ck_assert_int_eq(eth_abi_decode("int", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	ck_assert_int_eq(eth_abi_decode("uint", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	ck_assert_int_eq(eth_abi_decode("()", in.data, in.len, &v, NULL), 0);
	ck_assert_uint_eq(eth_abi_count(v), 0);
	eth_abi_val_free(v);

	/* depth: 15 array suffixes (16 levels) ok, 16 suffixes not */
	buf_addstr(&deep, "uint256");
	for (i = 0; i < ETH_ABI_MAX_DEPTH - 1; i++)
		buf_addstr(&deep, "[]");
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 0);
	ck_assert_int_eq(eth_abi_decode(deep.data, in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	buf_addstr(&deep, "[]");
	buf_reset(&err);
	ck_assert_int_eq(eth_abi_decode(deep.data, in.data, in.len, &v, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "nested too deeply"), "%s", buf_cstr(&err));
	/* and 17 nested tuples */
	buf_reset(&deep);
	for (i = 0; i < ETH_ABI_MAX_DEPTH + 1; i++)
		buf_addch(&deep, '(');
	buf_addstr(&deep, "uint256");
	for (i = 0; i < ETH_ABI_MAX_DEPTH + 1; i++)
		buf_addch(&deep, ')');
	ck_assert_int_eq(eth_abi_decode(deep.data, in.data, in.len, &v, NULL), -1);
	/* static size overflow: bytes32[65536][65536] */
	ck_assert_int_eq(eth_abi_decode("bytes32[65536][65536]", in.data, in.len, &v, NULL), -1);
	buf_release(&err);
	buf_release(&deep);
	buf_release(&in);
}
END_TEST

/* ---- decoder attacks ---- */

START_TEST(test_decode_dirty_words)
{
	struct buf in = BUF_INIT;
	struct eth_abi_val *v;
	unsigned char w[32];

	/* uint8 with 256 */
	add_u64_word(&in, 256);
	decode_fails("uint8", &in, "does not fit in uint8");
	decode_fails("(uint8)", &in, "does not fit in uint8");
	ck_assert_int_eq(eth_abi_decode("uint16", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	/* int8: 0x80 positive is out of range; ff..80 is -128 */
	buf_reset(&in);
	add_u64_word(&in, 0x80);
	decode_fails("int8", &in, "does not fit in int8");
	buf_reset(&in);
	memset(w, 0xff, 32);
	w[31] = 0x80;
	buf_add(&in, w, 32);
	ck_assert_int_eq(eth_abi_decode("int8", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	w[31] = 0x7f; /* ff..7f is -129 */
	buf_reset(&in);
	buf_add(&in, w, 32);
	decode_fails("int8", &in, "does not fit in int8");
	/* address with a dirty high byte */
	buf_reset(&in);
	memset(w, 0, 32);
	w[11] = 1;
	buf_add(&in, w, 32);
	decode_fails("address", &in, "non-zero high bytes");
	/* bool 2, bool with a high byte */
	buf_reset(&in);
	add_u64_word(&in, 2);
	decode_fails("bool", &in, "neither 0 nor 1");
	buf_reset(&in);
	memset(w, 0, 32);
	w[0] = 1;
	w[31] = 1;
	buf_add(&in, w, 32);
	decode_fails("bool", &in, "neither 0 nor 1");
	/* bytes10 with a non-zero byte 10 */
	buf_reset(&in);
	memset(w, 0, 32);
	w[10] = 1;
	buf_add(&in, w, 32);
	decode_fails("bytes10", &in, "non-zero padding");
	ck_assert_int_eq(eth_abi_decode("bytes11", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	/* address[] element dirty */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 1);
	add_fill_word(&in, 0xff);
	decode_fails("address[]", &in, "non-zero high bytes");
	buf_release(&in);
}
END_TEST

START_TEST(test_decode_bad_offsets_lengths)
{
	struct buf in = BUF_INIT;
	struct eth_abi_val *v;
	unsigned char w[32];

	/* offset past the end */
	add_u64_word(&in, 0x1000);
	add_u64_word(&in, 0);
	decode_fails("bytes", &in, "points outside");
	/* offset leaving less than a word */
	buf_reset(&in);
	add_u64_word(&in, 0x21);
	add_u64_word(&in, 0);
	decode_fails("bytes", &in, "points outside");
	/* offset = 2^64 and beyond */
	buf_reset(&in);
	memset(w, 0, 32);
	w[23] = 1;
	buf_add(&in, w, 32);
	add_u64_word(&in, 0);
	decode_fails("bytes", &in, "does not fit in 64 bits");
	buf_reset(&in);
	add_u64_word(&in, UINT64_MAX);
	add_u64_word(&in, 0);
	decode_fails("string", &in, "points outside");
	/* offset 0 points back at the head itself: aliasing, over budget */
	buf_reset(&in);
	add_u64_word(&in, 0);
	decode_fails("bytes", &in, "reuses data");
	/* length past the end, by one and by a lot */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 33);
	add_fill_word(&in, 0x61);
	decode_fails("bytes", &in, "overruns");
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, (uint64_t)1 << 62);
	decode_fails("bytes", &in, "overruns");
	/* exactly fitting without padding is accepted (as solc does) */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 3);
	buf_add(&in, "abc", 3);
	ck_assert_int_eq(eth_abi_decode("bytes", in.data, in.len, &v, NULL), 0);
	eth_abi_val_free(v);
	/* an array count that would allocate 2^64 pointers */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, UINT64_MAX);
	decode_fails("uint256[]", &in, "overruns");
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 3);
	add_u64_word(&in, 1);
	add_u64_word(&in, 2);
	decode_fails("uint256[]", &in, "overruns"); /* 3 claimed, 2 present */
	decode_fails("bytes[]", &in, "overruns");
	/* count bounded by element head size: (uint256,uint256)[] needs 64 each */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 2);
	add_u64_word(&in, 1);
	add_u64_word(&in, 2);
	add_u64_word(&in, 3);
	decode_fails("(uint256,uint256)[]", &in, "overruns");
	/* static heads missing */
	buf_reset(&in);
	add_u64_word(&in, 1);
	decode_fails("(uint256,uint256)", &in, "data too short");
	decode_fails("uint256[2]", &in, "data too short");
	buf_reset(&in);
	decode_fails("uint256", &in, "data too short");
	decode_fails("()[]", &in, "bad type");
	buf_release(&in);
}
END_TEST

/* Many offsets pointing at one blob: refused before it costs memory. */
START_TEST(test_decode_alias_bomb)
{
	const size_t n = 1000, blob = 4096;
	struct buf in = BUF_INIT, err = BUF_INIT;
	struct eth_abi_val *v;
	size_t i;

	add_u64_word(&in, 0x20);
	add_u64_word(&in, n);
	for (i = 0; i < n; i++)
		add_u64_word(&in, n * 32); /* every element at the same place */
	add_u64_word(&in, blob);
	for (i = 0; i < blob / 32; i++)
		add_fill_word(&in, 0x41);
	/* would be 4 MB of bytes from 36 KB of input */
	decode_fails("bytes[]", &in, "reuses data");

	/* honest encoding of the same shape with 3 distinct elements passes */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 3);
	for (i = 0; i < 3; i++)
		add_u64_word(&in, 3 * 32 + i * 64);
	for (i = 0; i < 3; i++) {
		add_u64_word(&in, 1);
		add_fill_word(&in, 0);
	}
	ck_assert_int_eq(eth_abi_decode("bytes[]", in.data, in.len, &v, &err), 0);
	ck_assert_uint_eq(eth_abi_count(v), 3);
	eth_abi_val_free(v);

	/* nested: uint256[][] whose 500 inner arrays are one 500-element array */
	buf_reset(&in);
	add_u64_word(&in, 0x20);
	add_u64_word(&in, 500);
	for (i = 0; i < 500; i++)
		add_u64_word(&in, 500 * 32);
	add_u64_word(&in, 500);
	for (i = 0; i < 500; i++)
		add_u64_word(&in, i);
	decode_fails("uint256[][]", &in, "reuses data");
	buf_release(&in);
	buf_release(&err);
}
END_TEST

/* Every proper prefix of a JobCreated encoding is refused in bounds. */
START_TEST(test_decode_truncations)
{
	unsigned char hash[32], addrs[2][20], in[45];
	struct buf enc = BUF_INIT;
	struct eth_abi_val *v;
	size_t cut;

	memset(hash, 0xaa, 32);
	memset(addrs, 0xbb, sizeof(addrs));
	memset(in, 0xcc, sizeof(in));
	v = job_created(hash, in, sizeof(in), 5000,
			(const unsigned char (*)[20])addrs, 2);
	ck_assert_int_eq(eth_abi_encode(JOB_TYPE, v, &enc), 0);
	eth_abi_val_free(v);
	for (cut = 0; cut < enc.len; cut++) {
		unsigned char *p = malloc(cut ? cut : 1);
		struct buf err = BUF_INIT;

		memcpy(p, enc.data, cut);
		ck_assert_msg(eth_abi_decode(JOB_TYPE, p, cut, &v, &err) == -1,
			      "prefix of %zu bytes accepted", cut);
		free(p);
		buf_release(&err);
	}
	ck_assert_int_eq(eth_abi_decode(JOB_TYPE, enc.data, enc.len, &v, NULL), 0);
	eth_abi_val_free(v);
	buf_release(&enc);
}
END_TEST

/* Random corruption: any result is fine, reading out of bounds is not. */
START_TEST(test_decode_random_corruption)
{
	static const char *const types[] = {
		JOB_TYPE, "(bytes,uint256,bytes,uint256,uint8,uint256)",
		"(uint256[][],string[])", "((uint256,bytes)[],int8,int256)",
		"(bytes3[2],bool,address)",
	};
	unsigned char hash[32], addrs[3][20], in[40];
	struct buf enc = BUF_INIT;
	struct eth_abi_val *v;
	int round;

	memset(hash, 1, 32);
	memset(addrs, 2, sizeof(addrs));
	memset(in, 3, sizeof(in));
	v = job_created(hash, in, sizeof(in), 77, (const unsigned char (*)[20])addrs, 3);
	ck_assert_int_eq(eth_abi_encode(JOB_TYPE, v, &enc), 0);
	eth_abi_val_free(v);
	srand(5);
	for (round = 0; round < 3000; round++) {
		unsigned char *p = malloc(enc.len);
		size_t len = enc.len, k;
		struct buf err = BUF_INIT;

		memcpy(p, enc.data, len);
		for (k = 0; k < 1 + (size_t)(rand() % 4); k++) {
			size_t at = (size_t)rand() % len;

			/* small values in offset/length positions are the dangerous ones */
			p[at] = (unsigned char)(rand() % 3 == 0 ? rand() : rand() % 0x120);
		}
		if (rand() % 4 == 0)
			len = (size_t)rand() % (len + 1);
		if (eth_abi_decode(types[round % 5], p, len, &v, &err) == 0)
			eth_abi_val_free(v);
		free(p);
		buf_release(&err);
	}
	buf_release(&enc);
}
END_TEST

static Suite *abi_suite(void)
{
	Suite *s = suite_create("eth_abi");
	TCase *tc = tcase_create("spec");
	TCase *tx = tcase_create("cast");
	TCase *td = tcase_create("decoder");

	tcase_add_test(tc, test_spec_simple_examples);
	tcase_add_test(tc, test_spec_dynamic_f);
	tcase_add_test(tc, test_spec_dynamic_g);
	tcase_add_test(tc, test_encode_value_checks);
	tcase_add_test(tc, test_type_strings);
	tcase_set_timeout(tx, 120);
	tcase_add_test(tx, test_job_created_vs_cast);
	tcase_add_test(tx, test_submit_output_vs_cast);
	tcase_add_test(tx, test_nested_vs_cast);
	tcase_add_test(tx, test_selectors_topics_and_code_calldata);
	tcase_set_timeout(td, 120);
	tcase_add_test(td, test_decode_dirty_words);
	tcase_add_test(td, test_decode_bad_offsets_lengths);
	tcase_add_test(td, test_decode_alias_bomb);
	tcase_add_test(td, test_decode_truncations);
	tcase_add_test(td, test_decode_random_corruption);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tx);
	suite_add_tcase(s, td);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(abi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
