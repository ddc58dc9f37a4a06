/*
 * Tests for fcgi-app/fa_errors.c (sandbox outcome -> HTTP error) and the
 * request-side helpers of the serverless API in fcgi-app/fa_api.h:
 * fa_serverless_parse() and fa_parse_code_id().
 *
 * The outcome table is what clients branch on, so every row is asserted
 * exactly (status and code), codes must be distinct, and anything outside
 * the enum must fail closed to INTERNAL_ERROR.  The body parser is fed each
 * documented shape and each documented refusal, checking both the error
 * code and that the message tells the client what was wrong.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fa_api.h"
#include "fa_errors.h"
#include "sandbox.h"
#include "banned.h"

/* ---- outcome table ------------------------------------------------------ */

static const struct {
	enum sb_outcome o;
	int status;
	const char *code;
} expected[] = {
	{ SB_TIMEOUT, 504, "EXECUTION_TIMEOUT" },
	{ SB_OOM, 500, "OUT_OF_MEMORY" },
	{ SB_LOAD_FAILED, 422, "CODE_LOAD_FAILED" },
	{ SB_EXCEPTION, 500, "WORKER_EXCEPTION" },
	{ SB_CRASHED, 502, "WORKER_CRASHED" },
	{ SB_TOO_LARGE, 502, "RESPONSE_TOO_LARGE" },
	{ SB_INTERNAL, 500, "INTERNAL_ERROR" },
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

START_TEST(test_outcome_rows)
{
	const struct fa_error *e;

	for (size_t i = 0; i < NEXPECTED; i++) {
		e = fa_outcome_error(expected[i].o);
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(e->status == expected[i].status, "%s: status %d, want %d",
			      expected[i].code, e->status, expected[i].status);
		ck_assert_str_eq(e->code, expected[i].code);
		ck_assert_msg(e->message && e->message[0], "%s has no default message",
			      expected[i].code);
	}
	/* SB_OK is the one success row */
	e = fa_outcome_error(SB_OK);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->status, 200);
	/* every error outcome of the enum is covered by the list above */
	ck_assert_uint_eq(NEXPECTED, (size_t)SB_INTERNAL);
}
END_TEST

START_TEST(test_outcome_codes_distinct)
{
	for (int a = SB_OK; a <= SB_INTERNAL; a++) {
		const struct fa_error *ea = fa_outcome_error((enum sb_outcome)a);
		/* UPPER_SNAKE, as the API promises */
		for (const char *p = ea->code; *p; p++)
			ck_assert_msg((*p >= 'A' && *p <= 'Z') || *p == '_', "code %s", ea->code);
		if (a != SB_OK)
			ck_assert_msg(ea->status >= 400 && ea->status <= 599, "%s: %d", ea->code,
				      ea->status);
		for (int b = SB_OK; b < a; b++) {
			const struct fa_error *eb = fa_outcome_error((enum sb_outcome)b);
			ck_assert_msg(strcmp(ea->code, eb->code) != 0, "outcomes %d and %d share %s", a,
				      b, ea->code);
		}
	}
}
END_TEST

START_TEST(test_outcome_out_of_range)
{
	const struct fa_error *internal = fa_outcome_error(SB_INTERNAL);
	const int bad[] = { SB_INTERNAL + 1, SB_INTERNAL + 2, 1000, -1, 0x7fffffff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct fa_error *e = fa_outcome_error((enum sb_outcome)bad[i]);
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(e == internal, "outcome %d", bad[i]);
		ck_assert_str_eq(e->code, "INTERNAL_ERROR");
		ck_assert_int_eq(e->status, 500);
	}
}
END_TEST

/* ---- fa_serverless_parse ------------------------------------------------ */

#define ID64 "0x1111111111111111111111111111111111111111111111111111111111111111"

struct parsed {
	int rc;
	const char *code;
	struct buf err;
	struct fa_serverless_req req;
};

static void parse(struct parsed *p, const char *body, size_t len)
{
	buf_init(&p->err);
	p->code = NULL;
	p->rc = fa_serverless_parse(body, len, &p->req, &p->code, &p->err);
}

static void parse_str(struct parsed *p, const char *body)
{
	parse(p, body, strlen(body));
}

static void parsed_release(struct parsed *p)
{
	fa_serverless_req_release(&p->req);
	ck_assert_ptr_null(p->req.code_id);
	ck_assert_ptr_null(p->req.tx_hash);
	ck_assert_ptr_null(p->req.input);
	buf_release(&p->err);
}

static void expect_ok(const char *body, struct parsed *p)
{
	parse_str(p, body);
	ck_assert_msg(p->rc == 0, "[%s]: %s %s", body, p->code ? p->code : "-", buf_cstr(&p->err));
	ck_assert_ptr_nonnull(p->req.code_id);
	ck_assert_str_eq(p->req.code_id, ID64);
	ck_assert_ptr_null(p->req.tx_hash);
}

/* The input is the exact bytes of the value in the body: a slice, not a copy. */
static void expect_input(const struct parsed *p, const char *body, const char *want)
{
	ck_assert_ptr_nonnull(p->req.input);
	ck_assert_msg(p->req.input_len == strlen(want) && !memcmp(p->req.input, want, strlen(want)),
		      "input [%.*s], want [%s]", (int)p->req.input_len, p->req.input, want);
	ck_assert(p->req.input >= body && p->req.input + p->req.input_len <= body + strlen(body));
}

static void expect_refused(const char *body, size_t len, const char *code, const char *msg)
{
	struct parsed p;

	parse(&p, body, len);
	ck_assert_msg(p.rc == -1, "[%s] accepted", body);
	ck_assert_ptr_nonnull(p.code);
	ck_assert_str_eq(p.code, code);
	ck_assert_msg(strstr(buf_cstr(&p.err), msg) != NULL, "[%s]: message [%s] lacks [%s]", body,
		      buf_cstr(&p.err), msg);
	/* nothing is left set on failure */
	ck_assert_ptr_null(p.req.code_id);
	ck_assert_ptr_null(p.req.tx_hash);
	ck_assert_ptr_null(p.req.input);
	parsed_release(&p);
}

static void expect_refused_str(const char *body, const char *msg)
{
	expect_refused(body, strlen(body), "BAD_REQUEST", msg);
}

START_TEST(test_parse_valid)
{
	struct parsed p;
	const char *b;

	b = "{\"code_id\": \"" ID64 "\", \"input\": {\"a\": 1, \"b\": [true]}}";
	expect_ok(b, &p);
	expect_input(&p, b, "{\"a\": 1, \"b\": [true]}");
	/* the id is a decoded copy the struct owns, not a pointer into the body */
	ck_assert(p.req.code_id < b || p.req.code_id >= b + strlen(b));
	ck_assert_uint_eq(p.err.len, 0);
	parsed_release(&p);

	/* key order does not matter, whitespace is free (and not part of the input) */
	b = "  {\"input\" :\n {} ,\n\t\"code_id\":\"" ID64 "\"}\n ";
	expect_ok(b, &p);
	expect_input(&p, b, "{}");
	parsed_release(&p);
	b = "{\"code_id\":\"" ID64 "\",\"input\":\t[ 1 ,\n 2 ]\r\n}";
	expect_ok(b, &p);
	expect_input(&p, b, "[ 1 ,\n 2 ]");
	parsed_release(&p);

	/* only len bytes are parsed */
	b = "{\"code_id\": \"" ID64 "\"}GARBAGE";
	parse(&p, b, strlen(b) - 7);
	ck_assert_int_eq(p.rc, 0);
	ck_assert_str_eq(p.req.code_id, ID64);
	parsed_release(&p);
}
END_TEST

START_TEST(test_parse_input_kinds)
{
	static const char *const kinds[] = {
		"null", "-12.5", "42", "\"text \\u00e9\"", "[1, \"two\", null]", "false", "true",
		"\"\"", "0", "-0.0e+10", "{\"k\":{\"k\":[[], {}]}}", "\"\\ud83d\\ude00 \xc3\xa9\"",
	};
	struct parsed p;
	char b[256];

	/* absent: NULL (the handler sends null) */
	expect_ok("{\"code_id\": \"" ID64 "\"}", &p);
	ck_assert_ptr_null(p.req.input);
	ck_assert_uint_eq(p.req.input_len, 0);
	parsed_release(&p);
	/* present: verbatim, whatever its kind; explicit null is not "absent" */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(b, sizeof(b), "{\"code_id\": \"" ID64 "\", \"input\": %s }", kinds[i]);
		expect_ok(b, &p);
		expect_input(&p, b, kinds[i]);
		parsed_release(&p);
		/* input first, the id after it */
		snprintf(b, sizeof(b), "{\"input\":%s,\"code_id\":\"" ID64 "\"}", kinds[i]);
		expect_ok(b, &p);
		expect_input(&p, b, kinds[i]);
		parsed_release(&p);
	}
}
END_TEST

/*
 * Inside the input only JSON validity counts: what jansson refused there
 * for its own reasons (integers past 64 bits, duplicate keys, \u0000) is
 * forwarded as written, as the original Oyster executor (serde_json) does.
 */
START_TEST(test_parse_input_passthrough)
{
	static const char *const kinds[] = {
		"123456789012345678901234567890123456789",
		"[-98765432109876543210987654321, 18446744073709551616]",
		"{\"a\": 1, \"a\": 2}",
		"[{\"x\": {\"y\": true, \"y\": false}}]",
		"\"nul \\u0000 inside\"",
		"1e400",
		"{\"code_id\": 1, \"code_id\": 2, \"other\": 3}", /* top-level rules stop at the top */
	};
	struct parsed p;
	char b[256];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(b, sizeof(b), "{\"code_id\":\"" ID64 "\",\"input\":%s}", kinds[i]);
		expect_ok(b, &p);
		expect_input(&p, b, kinds[i]);
		parsed_release(&p);
	}
}
END_TEST

/* Keys and ids are compared and kept decoded. */
START_TEST(test_parse_escaped)
{
	struct parsed p;
	const char *b;

	b = "{\"code\\u005fid\":\"" ID64 "\",\"\\u0069nput\":7}";
	expect_ok(b, &p);
	expect_input(&p, b, "7");
	parsed_release(&p);
	/* the id's escapes are decoded: \u0031 is '1', \/ is '/' (then not hex) */
	expect_ok("{\"code_id\":\"0x\\u0031111111111111111111111111111111111111111111111111111111111111"
		  "111\"}", &p);
	parsed_release(&p);
	parse_str(&p, "{\"tx_hash\":\"a\\/b\\u00e9\\n\"}");
	ck_assert_int_eq(p.rc, 0);
	ck_assert_str_eq(p.req.tx_hash, "a/b\xc3\xa9\n");
	parsed_release(&p);
	/* a duplicate spelled differently is still a duplicate */
	expect_refused_str("{\"code_id\":\"" ID64 "\",\"code\\u005fid\":\"" ID64 "\"}",
			   "duplicate key \"code_id\"");
	expect_refused_str("{\"input\":1,\"\\u0069\\u006e\\u0070\\u0075\\u0074\":2,\"code_id\":\"x\"}",
			   "duplicate key \"input\"");
	/* a NUL makes another key, not code_id cut short */
	expect_refused_str("{\"code_id\\u0000\":\"" ID64 "\"}", "unknown field 'code_id\\u0000'");
	expect_refused_str("{\"code_i\":\"" ID64 "\"}", "unknown field 'code_i'");
	expect_refused_str("{\"code_idd\":\"" ID64 "\"}", "unknown field 'code_idd'");
}
END_TEST

/* The id bound: code ids and tx hashes are 66 characters; 256 is plenty. */
START_TEST(test_parse_id_bounds)
{
	char b[2000], id[1000];
	struct parsed p;

	/* up to the bound: the parser takes it (the id check refuses it later) */
	memset(id, 'a', FA_SERVERLESS_ID_MAX);
	id[FA_SERVERLESS_ID_MAX] = '\0';
	snprintf(b, sizeof(b), "{\"code_id\":\"%s\"}", id);
	parse_str(&p, b);
	ck_assert_int_eq(p.rc, 0);
	ck_assert_uint_eq(strlen(p.req.code_id), FA_SERVERLESS_ID_MAX);
	parsed_release(&p);
	/* past it: the message the id check gives */
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(b, sizeof(b), "{\"code_id\":\"%s\"}", id);
	expect_refused_str(b, "code id must be 0x followed by 64 hex digits");
	snprintf(b, sizeof(b), "{\"tx_hash\":\"%s\"}", id);
	expect_refused_str(b, "tx_hash must be 0x followed by 64 hex digits");
	/* bounded after decoding: 300 escapes are 300 bytes, 200 escapes fit */
	{
		size_t o = 0;
		o += (size_t)snprintf(b + o, sizeof(b) - o, "{\"code_id\":\"");
		for (int i = 0; i < 200; i++)
			o += (size_t)snprintf(b + o, sizeof(b) - o, "\\u0061");
		snprintf(b + o, sizeof(b) - o, "\"}");
		parse_str(&p, b);
		ck_assert_int_eq(p.rc, 0);
		ck_assert_uint_eq(strlen(p.req.code_id), 200);
		parsed_release(&p);
	}
	/* a NUL inside an id would cut it short: refused */
	expect_refused_str("{\"code_id\":\"" ID64 "\\u0000junk\"}", "code id must be 0x");
	expect_refused_str("{\"tx_hash\":\"\\u0000\"}", "tx_hash must be 0x");
	/* the empty id parses (and the id check refuses it) */
	parse_str(&p, "{\"code_id\":\"\"}");
	ck_assert_int_eq(p.rc, 0);
	ck_assert_str_eq(p.req.code_id, "");
	parsed_release(&p);
}
END_TEST

/*
 * tx_hash requests parse (the chain lookup, and CHAIN_NOT_CONFIGURED when no
 * rpc_url is set, happen later in fa_api_chain.c).
 */
START_TEST(test_parse_tx_hash)
{
	struct parsed p;
	const char *b;

	b = "{\"tx_hash\": \"" ID64 "\", \"input\": [1]}";
	parse_str(&p, b);
	ck_assert_msg(p.rc == 0, "%s", buf_cstr(&p.err));
	ck_assert_ptr_null(p.req.code_id);
	ck_assert_ptr_nonnull(p.req.tx_hash);
	ck_assert_str_eq(p.req.tx_hash, ID64);
	expect_input(&p, b, "[1]");
	parsed_release(&p);
	parse_str(&p, "{\"tx_hash\": \"" ID64 "\"}");
	ck_assert_int_eq(p.rc, 0);
	ck_assert_ptr_null(p.req.input);
	parsed_release(&p);
}
END_TEST

START_TEST(test_parse_refusals)
{
	char b[300];

	/* not JSON */
	expect_refused("", 0, "BAD_REQUEST", "invalid JSON");
	expect_refused("{", 1, "BAD_REQUEST", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\",}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\"} {}", "invalid JSON");
	expect_refused_str("{'code_id': 1}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": [1,]}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": 012}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": \"\\ud800\"}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": \"\xed\xa0\x80\"}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": \"\xc0\xaf\"}", "invalid JSON");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": \"a\tb\"}", "invalid JSON");
	expect_refused("{\"code_id\": \"" ID64 "\", \"input\": \"\0\"}",
		       sizeof("{\"code_id\": \"" ID64 "\", \"input\": \"\0\"}") - 1, "BAD_REQUEST",
		       "invalid JSON");
	expect_refused("{\"code_id\": \"" ID64 "\"}\0", sizeof("{\"code_id\": \"" ID64 "\"}\0") - 1,
		       "BAD_REQUEST", "invalid JSON");
	/* the position is given, in today's shape */
	expect_refused_str("{\n  \"code_id\": ?}", "invalid JSON at line 2 column 14: ");
	/* not an object, once it is JSON */
	expect_refused("[1, 2]", 6, "BAD_REQUEST", "the body must be a JSON object");
	expect_refused_str("\"" ID64 "\"", "the body must be a JSON object");
	expect_refused("42", 2, "BAD_REQUEST", "the body must be a JSON object");
	expect_refused("null", 4, "BAD_REQUEST", "the body must be a JSON object");
	expect_refused_str("[1, 2", "invalid JSON");
	/* duplicate keys at the top (with where: the second key) */
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"code_id\": \"0x00\"}",
			   "invalid JSON at line 1 column 83: duplicate key \"code_id\"");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"input\": 1, \"input\": 2}", "duplicate");
	expect_refused_str("{\"tx_hash\": \"a\", \"tx_hash\": \"a\"}", "duplicate key \"tx_hash\"");
	/* unknown fields are named (an unknown one twice is still just unknown) */
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"inptu\": 1}", "unknown field 'inptu'");
	expect_refused_str("{\"Code_id\": \"" ID64 "\"}", "unknown field 'Code_id'");
	expect_refused_str("{\"x\": 1, \"x\": 2, \"code_id\": \"" ID64 "\"}", "unknown field 'x'");
	expect_refused_str("{\"a\": 1, \"b\": 2}", "unknown field 'a'");
	/* as written, cut short at a character boundary */
	snprintf(b, sizeof(b), "{\"%s\xc3\xa9tail\":1}",
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"); /* 63 + é */
	expect_refused_str(b, "unknown field 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk...'");
	/* invalid JSON anywhere wins over an unknown field before it, as with jansson */
	expect_refused_str("{\"zzz\": 1, \"code_id\": \"" ID64 "\", \"input\": [}", "invalid JSON");
	/* code_id missing or not a string */
	expect_refused_str("{}", "code_id or tx_hash (a string) is required");
	expect_refused_str("{\"input\": 1}", "code_id or tx_hash (a string) is required");
	expect_refused_str("{\"code_id\": 123}", "code_id or tx_hash (a string) is required");
	expect_refused_str("{\"code_id\": null}", "code_id");
	expect_refused_str("{\"code_id\": [\"" ID64 "\"]}", "code_id");
	expect_refused_str("{\"code_id\": {\"a\": \"" ID64 "\"}}", "code_id");
	expect_refused_str("{\"code_id\": true, \"input\": \"" ID64 "\"}", "code_id");
	/* exactly one of code_id and tx_hash */
	expect_refused_str("{\"tx_hash\": \"0xabc\", \"code_id\": \"" ID64 "\"}",
			   "give either code_id or tx_hash (a string), not both");
	expect_refused_str("{\"code_id\": \"" ID64 "\", \"tx_hash\": \"0xabc\"}", "not both");
	expect_refused_str("{\"tx_hash\": 5}", "tx_hash");
	expect_refused_str("{\"tx_hash\": null, \"input\": 1}", "tx_hash");
	expect_refused_str("{\"tx_hash\": [], \"code_id\": \"" ID64 "\"}", "not both");
}
END_TEST

/* ---- fa_parse_code_id --------------------------------------------------- */

static void make_id(unsigned char id[32])
{
	for (int i = 0; i < 32; i++)
		id[i] = (unsigned char)(i * 37 + 5);
}

static void hex_of(const unsigned char id[32], int upper, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", id[i]);
}

START_TEST(test_code_id_forms)
{
	unsigned char want[32], got[32];
	char lower[65], upper[65], mixed[65], text[80];

	make_id(want);
	hex_of(want, 0, lower);
	hex_of(want, 1, upper);
	for (int i = 0; i < 64; i++)
		mixed[i] = (i & 1) ? upper[i] : lower[i];
	mixed[64] = '\0';
	ck_assert_str_ne(lower, upper); /* the id does contain letters */

	const char *forms[][2] = {
		{ "0x", lower }, { "", lower }, { "0x", upper }, { "", upper },
		{ "0X", lower }, { "0X", mixed }, { "", mixed },
	};
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		snprintf(text, sizeof(text), "%s%s", forms[f][0], forms[f][1]);
		memset(got, 0xee, sizeof(got));
		ck_assert_msg(fa_parse_code_id(text, got) == 0, "%s refused", text);
		ck_assert_msg(!memcmp(got, want, 32), "%s decoded wrongly", text);
	}
	/* all zeros and all ones */
	memset(text, '0', 64);
	text[64] = '\0';
	ck_assert_int_eq(fa_parse_code_id(text, got), 0);
	for (int i = 0; i < 32; i++)
		ck_assert_int_eq(got[i], 0);
	memset(text, 'f', 64);
	ck_assert_int_eq(fa_parse_code_id(text, got), 0);
	for (int i = 0; i < 32; i++)
		ck_assert_int_eq(got[i], 0xff);
}
END_TEST

START_TEST(test_code_id_refused)
{
	unsigned char got[32];
	char lower[65], text[100];
	static const char nonhex[] = "gGxX -+z\x01\x7f:/@`[{";

	make_id(got);
	hex_of(got, 0, lower);
	ck_assert_int_eq(fa_parse_code_id("", got), -1);
	ck_assert_int_eq(fa_parse_code_id("0x", got), -1);
	ck_assert_int_eq(fa_parse_code_id("0", got), -1);
	/* wrong lengths */
	snprintf(text, sizeof(text), "0x%.63s", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "%.63s", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "0x%s0", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "%s00", lower); /* 66 hex digits without 0x */
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "0x0x%.62s", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), " 0x%s", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "0x%s ", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	snprintf(text, sizeof(text), "x0%s", lower);
	ck_assert_int_eq(fa_parse_code_id(text, got), -1);
	/* a non-hex character at every position */
	for (size_t c = 0; c < sizeof(nonhex) - 1; c++) {
		for (int pos = 0; pos < 64; pos++) {
			snprintf(text, sizeof(text), "0x%s", lower);
			text[2 + pos] = nonhex[c];
			ck_assert_msg(fa_parse_code_id(text, got) == -1, "'%c' at %d accepted",
				      nonhex[c], pos);
			ck_assert_msg(fa_parse_code_id(text + 2, got) == -1,
				      "'%c' at %d accepted without 0x", nonhex[c], pos);
		}
	}
}
END_TEST

static Suite *fa_errors_suite(void)
{
	Suite *s = suite_create("fa_errors");
	TCase *t = tcase_create("outcomes");
	TCase *p = tcase_create("serverless_parse");
	TCase *i = tcase_create("code_id");

	tcase_add_test(t, test_outcome_rows);
	tcase_add_test(t, test_outcome_codes_distinct);
	tcase_add_test(t, test_outcome_out_of_range);
	suite_add_tcase(s, t);
	tcase_add_test(p, test_parse_valid);
	tcase_add_test(p, test_parse_input_kinds);
	tcase_add_test(p, test_parse_input_passthrough);
	tcase_add_test(p, test_parse_escaped);
	tcase_add_test(p, test_parse_id_bounds);
	tcase_add_test(p, test_parse_tx_hash);
	tcase_add_test(p, test_parse_refusals);
	suite_add_tcase(s, p);
	tcase_add_test(i, test_code_id_forms);
	tcase_add_test(i, test_code_id_refused);
	suite_add_tcase(s, i);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fa_errors_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
