/*
 * Code bundles: parsing both upload forms, every validation rule with its
 * message, size limits (413 vs 400), the canonical encoding byte for byte,
 * content addressing (order independence, sensitivity to every field),
 * decode of truncated and tampered encodings, the JSON rendering and the
 * base64 vectors of RFC 4648 section 10.
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "code.h"
#include "eth/keccak.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

static const struct code_limits big = { 1 << 20, 64 };

/* decode and the encoder's misuse checks log by design; keep output clean */
static int saved_stderr = -1;

static void quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void loud(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

static int parse(struct code *c, const char *json, struct buf *err)
{
	return code_from_bundle_json(c, json, strlen(json), &big, err);
}

static void assert_empty(const struct code *c)
{
	ck_assert_ptr_null(c->main);
	ck_assert_ptr_null(c->mods);
	ck_assert_uint_eq(c->n, 0);
}

static void id_of_json(const char *json, unsigned char id[32])
{
	struct code c;
	struct buf err = BUF_INIT;

	ck_assert_msg(parse(&c, json, &err) == CODE_OK, "%s: %s", json,
		      buf_cstr(&err));
	code_id(&c, id);
	code_release(&c);
	buf_release(&err);
}

/* Expect rc and an error message containing want. */
static void expect_fail(const char *json, size_t len, int rc, const char *want)
{
	struct code c;
	struct buf err = BUF_INIT;
	size_t i;
	int got;

	got = code_from_bundle_json(&c, json, len, &big, &err);
	ck_assert_msg(got == rc, "%s: rc %d, want %d (%s)", json, got, rc,
		      buf_cstr(&err));
	ck_assert_msg(strstr(buf_cstr(&err), want), "%s: message \"%s\" lacks \"%s\"",
		      json, buf_cstr(&err), want);
	/* messages are plain printable ASCII, safe in any JSON body or log */
	for (i = 0; i < err.len; i++)
		ck_assert_msg(err.data[i] >= 0x20 && err.data[i] < 0x7f,
			      "non-ASCII in message \"%s\"", err.data);
	assert_empty(&c);
	buf_release(&err);
}

#define FAIL(json, want) expect_fail(json, sizeof(json) - 1, CODE_INVALID, want)

__attribute__((format(printf, 1, 2)))
static char *fmt_bundle(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(rc, 0);
	return buf_detach(&b, NULL);
}

/* A one-module bundle whose module name is name (already JSON-escaped). */
static void expect_bad_name(const char *name, const char *want)
{
	char *json = fmt_bundle("{\"main\":\"main.js\",\"modules\":["
				"{\"name\":\"main.js\",\"type\":\"esModule\",\"content\":\"x\"},"
				"{\"name\":\"%s\",\"type\":\"text\",\"content\":\"t\"}]}",
				name);

	expect_fail(json, strlen(json), CODE_INVALID, want);
	free(json);
}

static void expect_good_name(const char *name)
{
	char *json = fmt_bundle("{\"main\":\"main.js\",\"modules\":["
				"{\"name\":\"main.js\",\"type\":\"esModule\",\"content\":\"x\"},"
				"{\"name\":\"%s\",\"type\":\"text\",\"content\":\"t\"}]}",
				name);
	unsigned char id[32];

	id_of_json(json, id);
	free(json);
}

/* Raw canonical-encoding builder, to forge stored encodings. */
static void put_be(struct buf *b, unsigned long long v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		buf_addch(b, (char)(v >> (8 * i)));
}

static void enc_head(struct buf *b, const char *main_name, unsigned count)
{
	buf_addstr(b, "OYSTERCODE1\n");
	put_be(b, strlen(main_name), 4);
	buf_addstr(b, main_name);
	put_be(b, count, 4);
}

static void enc_mod(struct buf *b, int type, const char *name, const void *p,
		    size_t n)
{
	put_be(b, (unsigned)type, 1);
	put_be(b, strlen(name), 4);
	buf_addstr(b, name);
	put_be(b, n, 8);
	buf_add(b, p, n);
}

static int decode_quiet(struct code *c, const void *p, size_t n)
{
	int rc;

	quiet();
	rc = code_decode(c, p, n);
	loud();
	return rc;
}

static const char two_mods[] =
	"{\"main\":\"a.js\",\"modules\":["
	"{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	"{\"name\":\"b.bin\",\"type\":\"data\",\"content_base64\":\"AP8=\"}]}";

/* ---- raw JS ------------------------------------------------------------- */

START_TEST(test_js_basic)
{
	static const char src[] = "export default { fetch() { return new Response('h\xc3\xa9'); } };";
	struct code c;
	struct buf err = BUF_INIT;

	ck_assert_int_eq(code_from_js(&c, src, strlen(src), &big, &err), CODE_OK);
	ck_assert_uint_eq(err.len, 0);
	ck_assert_str_eq(c.main, "main.js");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.mods[0].name, "main.js");
	ck_assert_int_eq(c.mods[0].type, CODE_ESMODULE);
	ck_assert_uint_eq(c.mods[0].len, strlen(src));
	ck_assert_mem_eq(c.mods[0].data, src, strlen(src));
	ck_assert_int_eq(c.mods[0].data[c.mods[0].len], 0);
	code_release(&c);
	assert_empty(&c);
	/* lim and err may be NULL */
	ck_assert_int_eq(code_from_js(&c, "x", 1, NULL, NULL), CODE_OK);
	code_release(&c);
	buf_release(&err);
}
END_TEST

START_TEST(test_js_equals_bundle)
{
	static const char src[] = "export default {}; // \xe2\x9c\x93";
	struct code c;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT, err = BUF_INIT;
	unsigned char id1[32], id2[32], id3[32];

	ck_assert_int_eq(code_from_js(&c, src, strlen(src), &big, &err), CODE_OK);
	code_id(&c, id1);
	ck_assert_int_eq(code_encode(&c, &e1), 0);
	code_release(&c);

	id_of_json("{\"main\":\"main.js\",\"modules\":[{\"name\":\"main.js\","
		   "\"type\":\"esModule\",\"content\":\"export default {}; // \\u2713\"}]}",
		   id2);
	ck_assert_mem_eq(id1, id2, 32);
	/* the same bytes given as base64, keys in another order */
	id_of_json("{\"modules\":[{\"content_base64\":\"ZXhwb3J0IGRlZmF1bHQge307IC8vIOKckw==\","
		   "\"type\":\"esModule\",\"name\":\"main.js\"}],\"main\":\"main.js\"}",
		   id3);
	ck_assert_mem_eq(id1, id3, 32);

	ck_assert_int_eq(parse(&c, "{\"main\":\"main.js\",\"modules\":"
		"[{\"name\":\"main.js\",\"type\":\"esModule\",\"content\":"
		"\"export default {}; // \\u2713\"}]}", &err), CODE_OK);
	ck_assert_int_eq(code_encode(&c, &e2), 0);
	ck_assert_uint_eq(e1.len, e2.len);
	ck_assert_mem_eq(e1.data, e2.data, e1.len);
	code_release(&c);
	buf_release(&e1);
	buf_release(&e2);
	buf_release(&err);
}
END_TEST

START_TEST(test_js_invalid)
{
	static const struct { const char *s; size_t n; const char *want; } bad[] = {
		{ "", 0, "empty" },
		{ "a\xc0\x80", 3, "UTF-8" },		/* overlong NUL */
		{ "\xe0\x80\xaf", 3, "UTF-8" },	/* overlong '/' */
		{ "a\x80", 2, "UTF-8" },		/* lone continuation */
		{ "ab\xe2\x9c", 4, "UTF-8" },		/* truncated sequence */
		{ "\xed\xa0\x80", 3, "UTF-8" },	/* surrogate */
		{ "\xf4\x90\x80\x80", 4, "UTF-8" },	/* past U+10FFFF */
		{ "\xff", 1, "UTF-8" },
		{ "a\0b", 3, "NUL" },
	};
	struct code c;
	struct buf err = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&err);
		ck_assert_int_eq(code_from_js(&c, bad[i].s, bad[i].n, &big, &err),
				 CODE_INVALID);
		ck_assert_msg(strstr(buf_cstr(&err), bad[i].want), "case %zu: %s", i,
			      buf_cstr(&err));
		assert_empty(&c);
	}
	/* the longest valid forms are fine: U+10FFFF, U+FFFF, U+07FF */
	ck_assert_int_eq(code_from_js(&c, "\xf4\x8f\xbf\xbf\xef\xbf\xbf\xdf\xbf", 9,
				      &big, &err), CODE_OK);
	code_release(&c);
	buf_release(&err);
}
END_TEST

START_TEST(test_js_limits)
{
	const struct code_limits lim = { 10, 64 };
	struct code c;
	struct buf err = BUF_INIT;

	ck_assert_int_eq(code_from_js(&c, "0123456789", 10, &lim, &err), CODE_OK);
	code_release(&c);
	ck_assert_int_eq(code_from_js(&c, "0123456789a", 11, &lim, &err),
			 CODE_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "limit"));
	assert_empty(&c);
	buf_release(&err);
}
END_TEST

/* ---- content addressing ------------------------------------------------- */

START_TEST(test_order_independent)
{
	unsigned char a[32], b[32], d[32];

	id_of_json("{\"main\":\"m.js\",\"modules\":["
		   "{\"name\":\"m.js\",\"type\":\"esModule\",\"content\":\"import 'x/y.js'\"},"
		   "{\"name\":\"x/y.js\",\"type\":\"esModule\",\"content\":\"1\"},"
		   "{\"name\":\"a.wasm\",\"type\":\"wasm\",\"content_base64\":\"AGFzbQEAAAA=\"},"
		   "{\"name\":\"t.txt\",\"type\":\"text\",\"content\":\"hi\"}]}", a);
	id_of_json("{\"modules\":["
		   "{\"type\":\"text\",\"name\":\"t.txt\",\"content\":\"hi\"},"
		   "{\"name\":\"a.wasm\",\"content_base64\":\"AGFzbQEAAAA=\",\"type\":\"wasm\"},"
		   "{\"name\":\"x/y.js\",\"type\":\"esModule\",\"content\":\"1\"},"
		   "{\"name\":\"m.js\",\"type\":\"esModule\",\"content\":\"import 'x/y.js'\"}"
		   "],\n  \"main\" : \"m.js\"}", b);
	ck_assert_mem_eq(a, b, 32);
	/* content vs content_base64 of the same bytes is the same code */
	id_of_json("{\"modules\":["
		   "{\"type\":\"text\",\"name\":\"t.txt\",\"content_base64\":\"aGk=\"},"
		   "{\"name\":\"a.wasm\",\"content\":\"\\u0000asm\\u0001\\u0000\\u0000\\u0000\",\"type\":\"wasm\"},"
		   "{\"name\":\"x/y.js\",\"type\":\"esModule\",\"content\":\"1\"},"
		   "{\"name\":\"m.js\",\"type\":\"esModule\",\"content\":\"import 'x/y.js'\"}"
		   "],\"main\":\"m.js\"}", d);
	ck_assert_mem_eq(a, d, 32);
}
END_TEST

START_TEST(test_every_field_changes_id)
{
	static const char *const variants[] = {
		/* base */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"esModule\",\"content\":\"y\"}]}",
		/* content */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"esModule\",\"content\":\"z\"}]}",
		/* type */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"text\",\"content\":\"y\"}]}",
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"data\",\"content\":\"y\"}]}",
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"json\",\"content\":\"y\"}]}",
		/* name */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"c.js\",\"type\":\"esModule\",\"content\":\"y\"}]}",
		/* main */
		"{\"main\":\"b.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.js\",\"type\":\"esModule\",\"content\":\"y\"}]}",
		/* moving bytes between name and content */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.j\",\"type\":\"esModule\",\"content\":\"sy\"}]}",
		/* one module fewer */
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"}]}",
	};
	enum { N = sizeof(variants) / sizeof(variants[0]) };
	unsigned char ids[N][32];
	size_t i, j;

	for (i = 0; i < N; i++)
		id_of_json(variants[i], ids[i]);
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			ck_assert_msg(memcmp(ids[i], ids[j], 32), "variants %zu and %zu collide",
				      i, j);
}
END_TEST

/* The canonical encoding, byte for byte, and the id over it. */
START_TEST(test_encoding_bytes)
{
	static const unsigned char want[] =
		"OYSTERCODE1\n"
		"\0\0\0\4" "a.js"
		"\0\0\0\2"
		"\0" "\0\0\0\4" "a.js" "\0\0\0\0\0\0\0\1" "x"
		"\3" "\0\0\0\5" "b.bin" "\0\0\0\0\0\0\0\2" "\0\xff";
	struct code c;
	struct buf enc = BUF_INIT, hex = BUF_INIT, err = BUF_INIT;
	unsigned char id[32], h[32];
	size_t i;

	ck_assert_int_eq(parse(&c, two_mods, &err), CODE_OK);
	ck_assert_int_eq(code_encode(&c, &enc), 0);
	ck_assert_uint_eq(enc.len, sizeof(want) - 1);
	ck_assert_mem_eq(enc.data, want, enc.len);

	code_id(&c, id);
	eth_keccak256(want, sizeof(want) - 1, h);
	ck_assert_mem_eq(id, h, 32);

	buf_addstr(&hex, "prefix:");
	ck_assert_int_eq(code_id_hex(&c, &hex), 0);
	ck_assert_uint_eq(hex.len, 7 + 66);
	ck_assert_int_eq(memcmp(hex.data, "prefix:0x", 9), 0);
	for (i = 9; i < hex.len; i++)
		ck_assert(strchr("0123456789abcdef", hex.data[i]));

	/* encode appends */
	ck_assert_int_eq(code_encode(&c, &enc), 0);
	ck_assert_uint_eq(enc.len, 2 * (sizeof(want) - 1));
	code_release(&c);
	buf_release(&enc);
	buf_release(&hex);
	buf_release(&err);
}
END_TEST

/* ---- encode / decode ---------------------------------------------------- */

static void assert_same_code(const struct code *a, const struct code *b)
{
	size_t i;

	ck_assert_str_eq(a->main, b->main);
	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->mods[i].name, b->mods[i].name);
		ck_assert_int_eq(a->mods[i].type, b->mods[i].type);
		ck_assert_uint_eq(a->mods[i].len, b->mods[i].len);
		ck_assert_mem_eq(a->mods[i].data, b->mods[i].data, a->mods[i].len);
		ck_assert_int_eq(b->mods[i].data[b->mods[i].len], 0);
	}
}

static const char rich[] =
	"{\"main\":\"src/index.js\",\"modules\":["
	"{\"name\":\"src/index.js\",\"type\":\"esModule\",\"content\":\"import w from './add.wasm'; export default {}\"},"
	"{\"name\":\"src/add.wasm\",\"type\":\"wasm\",\"content_base64\":\"AGFzbQEAAAABBwFgAn9/AX8=\"},"
	"{\"name\":\"cfg.json\",\"type\":\"json\",\"content\":\"{\\\"k\\\": [1, 2]}\"},"
	"{\"name\":\"README.txt\",\"type\":\"text\",\"content\":\"\\u00e9t\\u00e9 \\ud83d\\ude00\"},"
	"{\"name\":\"blob\",\"type\":\"data\",\"content_base64\":\"\"},"
	"{\"name\":\"bin-0_1.dat\",\"type\":\"data\",\"content_base64\":\"AAECAwQFBgcICQ==\"}]}";

START_TEST(test_roundtrip)
{
	struct code a, b, d;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT, js = BUF_INIT, err = BUF_INIT;
	unsigned char ia[32], ib[32], id[32];
	size_t i;

	ck_assert_int_eq(parse(&a, rich, &err), CODE_OK);
	/* sorted bytewise: uppercase before lowercase */
	for (i = 1; i < a.n; i++)
		ck_assert_int_lt(strcmp(a.mods[i - 1].name, a.mods[i].name), 0);
	ck_assert_str_eq(a.mods[0].name, "README.txt");

	ck_assert_int_eq(code_encode(&a, &e1), 0);
	ck_assert_int_eq(code_decode(&b, e1.data, e1.len), 0);
	assert_same_code(&a, &b);
	ck_assert_int_eq(code_encode(&b, &e2), 0);
	ck_assert_uint_eq(e1.len, e2.len);
	ck_assert_mem_eq(e1.data, e2.data, e1.len);
	code_id(&a, ia);
	code_id(&b, ib);
	ck_assert_mem_eq(ia, ib, 32);

	/* JSON rendering parses back to the same code */
	ck_assert_int_eq(code_to_json(&b, &js), 0);
	ck_assert_int_eq(code_from_bundle_json(&d, js.data, js.len, &big, &err), CODE_OK);
	assert_same_code(&a, &d);
	code_id(&d, id);
	ck_assert_mem_eq(ia, id, 32);

	code_release(&a);
	code_release(&b);
	code_release(&d);
	buf_release(&e1);
	buf_release(&e2);
	buf_release(&js);
	buf_release(&err);
}
END_TEST

START_TEST(test_to_json_exact)
{
	struct code c;
	struct buf js = BUF_INIT, err = BUF_INIT;

	ck_assert_int_eq(parse(&c, two_mods, &err), CODE_OK);
	buf_addstr(&js, ">");
	ck_assert_int_eq(code_to_json(&c, &js), 0);
	ck_assert_str_eq(js.data,
		">{\"main\":\"a.js\",\"modules\":["
		"{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
		"{\"name\":\"b.bin\",\"type\":\"data\",\"content_base64\":\"AP8=\"}]}");
	code_release(&c);
	buf_release(&js);
	buf_release(&err);
}
END_TEST

/* Every strict prefix of a valid encoding is rejected, cleanly. */
START_TEST(test_decode_truncations)
{
	struct code a, b;
	struct buf enc = BUF_INIT, err = BUF_INIT;
	size_t i;

	ck_assert_int_eq(parse(&a, rich, &err), CODE_OK);
	ck_assert_int_eq(code_encode(&a, &enc), 0);
	quiet();
	for (i = 0; i < enc.len; i++) {
		/* a fresh exact-size copy so ASan/valgrind see any overread */
		unsigned char *p = malloc(i ? i : 1);

		ck_assert_ptr_nonnull(p);
		memcpy(p, enc.data, i);
		ck_assert_msg(code_decode(&b, p, i) == -1, "prefix %zu decoded", i);
		assert_empty(&b);
		free(p);
	}
	/* one trailing byte too many */
	buf_addch(&enc, 0);
	ck_assert_int_eq(code_decode(&b, enc.data, enc.len), -1);
	assert_empty(&b);
	loud();
	/* and the exact encoding still decodes */
	ck_assert_int_eq(code_decode(&b, enc.data, enc.len - 1), 0);
	code_release(&b);
	code_release(&a);
	buf_release(&enc);
	buf_release(&err);
}
END_TEST

START_TEST(test_decode_tampered)
{
	struct buf b = BUF_INIT;
	struct code c;
	unsigned char *p;

	/* control: the forged encoder builds something valid */
	enc_head(&b, "a.js", 2);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	enc_mod(&b, CODE_TEXT, "b", "y", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), 0);
	code_release(&c);

	/* unsorted */
	buf_reset(&b);
	enc_head(&b, "a.js", 2);
	enc_mod(&b, CODE_TEXT, "b", "y", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	assert_empty(&c);

	/* duplicate */
	buf_reset(&b);
	enc_head(&b, "a.js", 2);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* unknown type */
	buf_reset(&b);
	enc_head(&b, "a.js", 2);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	enc_mod(&b, 5, "b", "y", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* count larger than what follows, and absurd */
	buf_reset(&b);
	enc_head(&b, "a.js", 3);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	enc_mod(&b, CODE_TEXT, "b", "y", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	buf_reset(&b);
	enc_head(&b, "a.js", 0xffffffffu);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	/* zero modules */
	buf_reset(&b);
	enc_head(&b, "a.js", 0);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* content length past the end, including one that wraps size_t */
	buf_reset(&b);
	enc_head(&b, "a.js", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	p = (unsigned char *)b.data + b.len - 2;	/* low byte of the length */
	*p = 2;
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	memset(b.data + b.len - 9, 0xff, 8);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* name length past the end, zero and over 255 */
	buf_reset(&b);
	buf_addstr(&b, "OYSTERCODE1\n");
	put_be(&b, 1000, 4);
	buf_addstr(&b, "a.js");
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	buf_reset(&b);
	enc_head(&b, "", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* main not among the modules, main not an esModule */
	buf_reset(&b);
	enc_head(&b, "z.js", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	buf_reset(&b);
	enc_head(&b, "a.js", 1);
	enc_mod(&b, CODE_TEXT, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* names the upload rules refuse, content its type refuses */
	buf_reset(&b);
	enc_head(&b, "a.js", 2);
	enc_mod(&b, CODE_TEXT, "../etc", "y", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	buf_reset(&b);
	enc_head(&b, "a.js", 1);
	put_be(&b, CODE_ESMODULE, 1);
	put_be(&b, 5, 4);
	buf_add(&b, "a.js\0", 5);			/* NUL inside the name */
	put_be(&b, 1, 8);
	buf_addch(&b, 'x');
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	buf_reset(&b);
	enc_head(&b, "a.js", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "\xff", 1);
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);

	/* bad magic */
	buf_reset(&b);
	enc_head(&b, "a.js", 1);
	enc_mod(&b, CODE_ESMODULE, "a.js", "x", 1);
	b.data[10] = '2';
	ck_assert_int_eq(decode_quiet(&c, b.data, b.len), -1);
	ck_assert_int_eq(decode_quiet(&c, NULL, 0), -1);
	assert_empty(&c);
	buf_release(&b);
}
END_TEST

START_TEST(test_encode_refuses_noncanonical)
{
	struct code c;
	struct code_module m[2];
	struct buf out = BUF_INIT;
	char a[] = "a", bname[] = "b", main_name[] = "a";
	unsigned char x[] = "x";

	m[0].name = bname;
	m[1].name = a;
	m[0].type = m[1].type = CODE_ESMODULE;
	m[0].data = m[1].data = x;
	m[0].len = m[1].len = 1;
	c.main = main_name;
	c.mods = m;
	c.n = 2;
	buf_addstr(&out, "keep");
	quiet();
	ck_assert_int_eq(code_encode(&c, &out), -1);
	m[0].name = a;
	ck_assert_int_eq(code_encode(&c, &out), -1);	/* duplicate */
	loud();
	ck_assert_str_eq(buf_cstr(&out), "keep");
	m[1].name = bname;
	ck_assert_int_eq(code_encode(&c, &out), 0);
	buf_release(&out);
}
END_TEST

/* ---- validation --------------------------------------------------------- */

START_TEST(test_invalid_document)
{
	FAIL("", "not valid JSON");
	FAIL("{", "not valid JSON");
	FAIL("{\"main\":\"a.js\",}", "not valid JSON");
	FAIL("[]", "not a JSON object");
	FAIL("\"main.js\"", "not a JSON object");
	FAIL("null", "not a JSON object");
	FAIL("{\"main\":\"a.js\",\"main\":\"b.js\",\"modules\":[]}", "duplicate");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\","
	     "\"content\":\"x\"}],\"extra\":1}", "unknown key \"extra\"");
	/* a key with a NUL in it is never taken for "main" */
	FAIL("{\"main\\u0000\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\","
	     "\"content\":\"x\"}]}", "NUL byte in object key");
	/* jansson's message quotes the input; ours stays ASCII (checked) */
	FAIL("{\"main\": \xc3\xa9t\xc3\xa9}", "not valid JSON");
	/* invalid UTF-8 in the JSON text itself */
	FAIL("{\"main\":\"a\xff.js\",\"modules\":[]}", "not valid JSON");
}
END_TEST

START_TEST(test_invalid_main_and_modules)
{
	FAIL("{\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "no \"main\"");
	FAIL("{\"main\":5,\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "\"main\" is not a string");
	FAIL("{\"main\":\"a.js\"}", "no \"modules\"");
	FAIL("{\"main\":\"a.js\",\"modules\":{}}", "not an array");
	FAIL("{\"main\":\"a.js\",\"modules\":[]}", "\"modules\" is empty");
	FAIL("{\"main\":\"a.js\",\"modules\":[5]}", "modules[0] is not an object");
	FAIL("{\"main\":\"z.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "does not name a module");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"text\",\"content\":\"x\"}]}",
	     "must be an esModule, not text");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"\"}]}",
	     "main module \"a.js\" is empty");
	FAIL("{\"main\":\"../a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "\"..\" path segment");
}
END_TEST

START_TEST(test_invalid_module_fields)
{
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "modules[0] has no \"name\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":7,\"type\":\"esModule\",\"content\":\"x\"}]}",
	     "\"name\" is not a string");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"content\":\"x\"}]}",
	     "has no \"type\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":[],\"content\":\"x\"}]}",
	     "\"type\" is not a string");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esmodule\",\"content\":\"x\"}]}",
	     "unknown type \"esmodule\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"commonJs\",\"content\":\"x\"}]}",
	     "unknown type");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\","
	     "\"content_base64\":\"eA==\"}]}", "both \"content\" and \"content_base64\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\"}]}",
	     "neither \"content\" nor \"content_base64\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":1}]}",
	     "\"content\" is not a string");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content_base64\":null}]}",
	     "\"content_base64\" is not a string");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\","
	     "\"path\":\"/etc\"}]}", "modules[0] has unknown key \"path\"");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	     "{\"name\":\"a.js\",\"type\":\"text\",\"content\":\"y\"}]}", "duplicate module name \"a.js\"");
}
END_TEST

START_TEST(test_invalid_content)
{
	/* text types must be UTF-8 without NUL, whatever field carried them */
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content_base64\":\"/w==\"}]}",
	     "esModule module \"a.js\" is not valid UTF-8");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	     "{\"name\":\"t\",\"type\":\"text\",\"content\":\"a\\u0000b\"}]}", "NUL");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	     "{\"name\":\"j\",\"type\":\"json\",\"content_base64\":\"wIA=\"}]}", "UTF-8");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	     "{\"name\":\"w.wasm\",\"type\":\"wasm\",\"content\":\"asm\"}]}", "WebAssembly magic");
	FAIL("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
	     "{\"name\":\"w.wasm\",\"type\":\"wasm\",\"content_base64\":\"\"}]}", "WebAssembly magic");
}
END_TEST

START_TEST(test_binary_content_ok)
{
	struct code c;
	struct buf err = BUF_INIT;
	size_t i;

	/* data may hold anything, including NUL and invalid UTF-8 */
	ck_assert_int_eq(parse(&c, "{\"main\":\"a.js\",\"modules\":["
			       "{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"x\"},"
			       "{\"name\":\"d\",\"type\":\"data\",\"content_base64\":\"AP/AgA==\"},"
			       "{\"name\":\"e\",\"type\":\"data\",\"content\":\"\\u0000\"}]}", &err),
			 CODE_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.mods[1].len, 4);
	ck_assert_mem_eq(c.mods[1].data, "\x00\xff\xc0\x80", 4);
	ck_assert_uint_eq(c.mods[2].len, 1);
	ck_assert_int_eq(c.mods[2].data[0], 0);
	code_release(&c);

	/* all 256 byte values survive code -> JSON (base64) -> code */
	{
		struct code_module m[2];
		struct code d;
		struct buf json = BUF_INIT;
		unsigned char all[257], x[] = "x";
		char main_name[] = "a.js", all_name[] = "all";
		unsigned char i1[32], i2[32];

		for (i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		all[256] = 0;
		m[0] = (struct code_module){ main_name, CODE_ESMODULE, x, 1 };
		m[1] = (struct code_module){ all_name, CODE_DATA, all, 256 };
		c.main = main_name;
		c.mods = m;
		c.n = 2;
		ck_assert_int_eq(code_to_json(&c, &json), 0);
		ck_assert_ptr_nonnull(strstr(json.data, "\"content_base64\":\"AAECAwQF"));
		ck_assert_ptr_nonnull(strstr(json.data, "+/w==\""));
		ck_assert_int_eq(code_from_bundle_json(&d, json.data, json.len, &big, &err),
				 CODE_OK);
		assert_same_code(&c, &d);
		code_id(&c, i1);
		code_id(&d, i2);
		ck_assert_mem_eq(i1, i2, 32);
		code_release(&d);
		buf_release(&json);
	}
	buf_release(&err);
}
END_TEST

START_TEST(test_names)
{
	char longname[300];

	expect_bad_name("", "name \"\" is empty");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	expect_bad_name(longname, "longer than 255");
	expect_bad_name("/abs.js", "starts with '/'");
	expect_bad_name("dir/", "ends with '/'");
	expect_bad_name("a//b.js", "empty path segment");
	expect_bad_name("../x.js", "\"..\" path segment");
	expect_bad_name("a/../../x.js", "\"..\" path segment");
	expect_bad_name("a/..", "\"..\" path segment");
	expect_bad_name("..", "\"..\" path segment");
	expect_bad_name("./x.js", "\".\" path segment");
	expect_bad_name("a/./x.js", "\".\" path segment");
	expect_bad_name(".", "\".\" path segment");
	expect_bad_name("a\\u0000b", "NUL");
	expect_bad_name("a\\u0001b", "control character");
	expect_bad_name("a\\nb", "control character");
	expect_bad_name("a\\u007fb", "control character");
	expect_bad_name("a b.js", "character other than");
	expect_bad_name("a\\\\b.js", "character other than");
	expect_bad_name("a:b", "character other than");
	expect_bad_name("caf\\u00e9.js", "name \"caf\\xc3\\xa9.js\"");
	/* messages quote at most 48 bytes of a name */
	memset(longname, 'b', 256);
	longname[255] = ' ';
	longname[256] = '\0';
	expect_bad_name(longname, "bbbbbbbb...\"");

	memset(longname, 'a', 255);
	longname[255] = '\0';
	expect_good_name(longname);
	expect_good_name("a/b/c-d_e.f.js");
	expect_good_name("a..b.js");
	expect_good_name(".hidden");
	expect_good_name("...x");
	expect_good_name("-x");
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_limits)
{
	const struct code_limits lim = { 8, 3 };
	struct code c;
	struct buf err = BUF_INIT;
	static const char at_limit[] =
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"1234\"},"
		"{\"name\":\"b\",\"type\":\"data\",\"content_base64\":\"MTIz\"},"
		"{\"name\":\"c\",\"type\":\"text\",\"content\":\"1\"}]}";
	static const char over_total[] =
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"1234\"},"
		"{\"name\":\"b\",\"type\":\"data\",\"content_base64\":\"MTIz\"},"
		"{\"name\":\"c\",\"type\":\"text\",\"content\":\"12\"}]}";
	static const char over_count[] =
		"{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\",\"type\":\"esModule\",\"content\":\"1\"},"
		"{\"name\":\"b\",\"type\":\"data\",\"content\":\"\"},"
		"{\"name\":\"c\",\"type\":\"data\",\"content\":\"\"},"
		"{\"name\":\"d\",\"type\":\"data\",\"content\":\"\"}]}";
	static const char over_and_invalid[] =
		"{\"main\":\"a.js\",\"modules\":[1,2,3,4]}";
	char *huge;
	size_t n = 1000000;

	ck_assert_int_eq(code_from_bundle_json(&c, at_limit, strlen(at_limit), &lim, &err),
			 CODE_OK);
	code_release(&c);
	ck_assert_int_eq(code_from_bundle_json(&c, over_total, strlen(over_total), &lim, &err),
			 CODE_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "limit of 8 bytes"));
	assert_empty(&c);
	buf_reset(&err);
	ck_assert_int_eq(code_from_bundle_json(&c, over_count, strlen(over_count), &lim, &err),
			 CODE_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "4 modules, over the limit of 3"));
	assert_empty(&c);
	/* the count is checked before the modules are looked at */
	ck_assert_int_eq(code_from_bundle_json(&c, over_and_invalid, strlen(over_and_invalid),
					       &lim, &err), CODE_TOO_LARGE);
	/* no limits at all */
	ck_assert_int_eq(code_from_bundle_json(&c, over_count, strlen(over_count), NULL, NULL),
			 CODE_OK);
	code_release(&c);

	/* a body far larger than any bundle within the limits: refused unparsed */
	huge = malloc(n);
	ck_assert_ptr_nonnull(huge);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n - 1] = '}';
	buf_reset(&err);
	ck_assert_int_eq(code_from_bundle_json(&c, huge, n, &lim, &err), CODE_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "bytes of JSON"));
	/* the same body with generous limits is merely invalid */
	ck_assert_int_eq(code_from_bundle_json(&c, huge, n, &big, &err), CODE_INVALID);
	free(huge);
	buf_release(&err);
}
END_TEST

/* ---- base64 (RFC 4648 section 10) -------------------------------------- */

static const struct { const char *plain, *b64; } rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static char *data_bundle(const char *b64)
{
	return fmt_bundle("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\","
			  "\"type\":\"esModule\",\"content\":\"x\"},{\"name\":\"d\","
			  "\"type\":\"data\",\"content_base64\":\"%s\"}]}", b64);
}

START_TEST(test_base64_rfc4648)
{
	struct buf err = BUF_INIT, js = BUF_INIT;
	struct code c;
	size_t i;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *json = data_bundle(rfc4648[i].b64);
		char *want;

		/* decode */
		ck_assert_int_eq(parse(&c, json, &err), CODE_OK);
		ck_assert_str_eq(c.mods[1].name, "d");
		ck_assert_uint_eq(c.mods[1].len, strlen(rfc4648[i].plain));
		ck_assert_mem_eq(c.mods[1].data, rfc4648[i].plain, c.mods[1].len);
		/* encode: the rendering gives back exactly the RFC text */
		buf_reset(&js);
		ck_assert_int_eq(code_to_json(&c, &js), 0);
		ck_assert_str_eq(js.data, json);
		code_release(&c);
		/* and as text content the same bytes are the same code */
		want = fmt_bundle("{\"main\":\"a.js\",\"modules\":[{\"name\":\"a.js\","
				  "\"type\":\"esModule\",\"content\":\"x\"},{\"name\":\"d\","
				  "\"type\":\"data\",\"content\":\"%s\"}]}", rfc4648[i].plain);
		{
			unsigned char a[32], b[32];

			id_of_json(json, a);
			id_of_json(want, b);
			ck_assert_mem_eq(a, b, 32);
		}
		free(want);
		free(json);
	}
	buf_release(&js);
	buf_release(&err);
}
END_TEST

START_TEST(test_base64_invalid)
{
	static const struct { const char *b64, *want; } bad[] = {
		{ "Zg", "multiple of 4" },
		{ "Zm9", "multiple of 4" },
		{ "Zm9vY", "multiple of 4" },
		{ "Zm9v\\n", "multiple of 4" },
		{ "Zm9v\\nZm9", "invalid character" },
		{ "Zm 9", "invalid character" },
		{ "Zm9!", "invalid character" },
		{ "Zm9v\\u0000AAA", "invalid character" },
		{ "Zm-_", "invalid character" },	/* base64url alphabet */
		{ "Zm=v", "'=' is only allowed at the end" },
		{ "=Zm9", "'=' is only allowed at the end" },
		{ "====", "'=' is only allowed at the end" },
		{ "Z===", "'=' is only allowed at the end" },
		{ "Zg==Zg==", "'=' is only allowed at the end" },
		{ "Zm9v====", "'=' is only allowed at the end" },
		{ "Zh==", "non-zero bits" },		/* canonical is Zg== */
		{ "Zm9=", "non-zero bits" },		/* canonical is Zm8= */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *json = data_bundle(bad[i].b64);

		expect_fail(json, strlen(json), CODE_INVALID, "invalid content_base64");
		expect_fail(json, strlen(json), CODE_INVALID, bad[i].want);
		free(json);
	}
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(code_module_type_name(CODE_ESMODULE), "esModule");
	ck_assert_str_eq(code_module_type_name(CODE_WASM), "wasm");
	ck_assert_str_eq(code_module_type_name(CODE_TEXT), "text");
	ck_assert_str_eq(code_module_type_name(CODE_DATA), "data");
	ck_assert_str_eq(code_module_type_name(CODE_JSON), "json");
	ck_assert_str_eq(code_module_type_name((enum code_module_type)99), "unknown");
}
END_TEST

static Suite *code_suite(void)
{
	Suite *s = suite_create("code");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_js_basic);
	tcase_add_test(tc, test_js_equals_bundle);
	tcase_add_test(tc, test_js_invalid);
	tcase_add_test(tc, test_js_limits);
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_every_field_changes_id);
	tcase_add_test(tc, test_encoding_bytes);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_to_json_exact);
	tcase_add_test(tc, test_decode_truncations);
	tcase_add_test(tc, test_decode_tampered);
	tcase_add_test(tc, test_encode_refuses_noncanonical);
	tcase_add_test(tc, test_invalid_document);
	tcase_add_test(tc, test_invalid_main_and_modules);
	tcase_add_test(tc, test_invalid_module_fields);
	tcase_add_test(tc, test_invalid_content);
	tcase_add_test(tc, test_binary_content_ok);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_base64_rfc4648);
	tcase_add_test(tc, test_base64_invalid);
	tcase_add_test(tc, test_type_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(code_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
