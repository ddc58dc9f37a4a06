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
#include <jansson.h>
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
	ck_assert_ptr_null(p->req.root);
	buf_release(&p->err);
}

static void expect_ok(const char *body, struct parsed *p)
{
	parse_str(p, body);
	ck_assert_msg(p->rc == 0, "[%s]: %s %s", body, p->code ? p->code : "-", buf_cstr(&p->err));
	ck_assert_ptr_nonnull(p->req.root);
	ck_assert_str_eq(p->req.code_id, ID64);
	ck_assert_ptr_null(p->req.tx_hash);
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
	parsed_release(&p);
}

START_TEST(test_parse_valid)
{
	struct parsed p;
	json_t *a;

	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": {\"a\": 1, \"b\": [true]}}", &p);
	ck_assert(json_is_object(p.req.input));
	a = json_object_get(p.req.input, "a");
	ck_assert(json_is_integer(a));
	ck_assert_int_eq(json_integer_value(a), 1);
	ck_assert_uint_eq(json_object_size(p.req.input), 2);
	/* code_id and input point into root */
	ck_assert_ptr_eq(p.req.input, json_object_get(p.req.root, "input"));
	ck_assert_ptr_eq(p.req.code_id, json_string_value(json_object_get(p.req.root, "code_id")));
	ck_assert_uint_eq(p.err.len, 0);
	parsed_release(&p);

	/* key order does not matter, whitespace is free */
	expect_ok("  {\"input\":{},\n\t\"code_id\":\"" ID64 "\"}\n ", &p);
	ck_assert(json_is_object(p.req.input));
	ck_assert_uint_eq(json_object_size(p.req.input), 0);
	parsed_release(&p);

	/* only len bytes are parsed */
	{
		const char *b = "{\"code_id\": \"" ID64 "\"}GARBAGE";
		parse(&p, b, strlen(b) - 7);
		ck_assert_int_eq(p.rc, 0);
		ck_assert_str_eq(p.req.code_id, ID64);
		parsed_release(&p);
	}
}
END_TEST

START_TEST(test_parse_input_kinds)
{
	struct parsed p;

	/* absent: NULL */
	expect_ok("{\"code_id\": \"" ID64 "\"}", &p);
	ck_assert_ptr_null(p.req.input);
	parsed_release(&p);
	/* explicit null is a JSON null, not "absent" */
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": null}", &p);
	ck_assert_ptr_nonnull(p.req.input);
	ck_assert(json_is_null(p.req.input));
	parsed_release(&p);
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": -12.5}", &p);
	ck_assert(json_is_real(p.req.input));
	ck_assert(json_real_value(p.req.input) == -12.5);
	parsed_release(&p);
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": 42}", &p);
	ck_assert(json_is_integer(p.req.input));
	ck_assert_int_eq(json_integer_value(p.req.input), 42);
	parsed_release(&p);
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": \"text \\u00e9\"}", &p);
	ck_assert(json_is_string(p.req.input));
	ck_assert_str_eq(json_string_value(p.req.input), "text \xc3\xa9");
	parsed_release(&p);
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": [1, \"two\", null]}", &p);
	ck_assert(json_is_array(p.req.input));
	ck_assert_uint_eq(json_array_size(p.req.input), 3);
	parsed_release(&p);
	expect_ok("{\"code_id\": \"" ID64 "\", \"input\": false}", &p);
	ck_assert(json_is_false(p.req.input));
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

	parse_str(&p, "{\"tx_hash\": \"" ID64 "\", \"input\": [1]}");
	ck_assert_msg(p.rc == 0, "%s", buf_cstr(&p.err));
	ck_assert_ptr_null(p.req.code_id);
	ck_assert_ptr_nonnull(p.req.tx_hash);
	ck_assert_str_eq(p.req.tx_hash, ID64);
	ck_assert(json_is_array(p.req.input));
	parsed_release(&p);
	parse_str(&p, "{\"tx_hash\": \"" ID64 "\"}");
	ck_assert_int_eq(p.rc, 0);
	ck_assert_ptr_null(p.req.input);
	parsed_release(&p);
}
END_TEST

START_TEST(test_parse_refusals)
{
	/* not JSON */
	expect_refused("", 0, "BAD_REQUEST", "invalid JSON");
	expect_refused("{", 1, "BAD_REQUEST", "invalid JSON");
	expect_refused("{\"code_id\": \"" ID64 "\",}", strlen("{\"code_id\": \"" ID64 "\",}"),
		       "BAD_REQUEST", "invalid JSON");
	expect_refused("{\"code_id\": \"" ID64 "\"} {}", strlen("{\"code_id\": \"" ID64 "\"} {}"),
		       "BAD_REQUEST", "invalid JSON");
	expect_refused("{'code_id': 1}", strlen("{'code_id': 1}"), "BAD_REQUEST", "invalid JSON");
	/* the position is given */
	expect_refused("{\n  \"code_id\": ?}", strlen("{\n  \"code_id\": ?}"), "BAD_REQUEST", "line 2");
	/* not an object */
	expect_refused("[1, 2]", 6, "BAD_REQUEST", "must be a JSON object");
	/* (jansson itself refuses scalars at the top level) */
	expect_refused("\"" ID64 "\"", strlen("\"" ID64 "\""), "BAD_REQUEST", "JSON");
	expect_refused("42", 2, "BAD_REQUEST", "JSON");
	expect_refused("null", 4, "BAD_REQUEST", "JSON");
	/* duplicate keys */
	expect_refused("{\"code_id\": \"" ID64 "\", \"code_id\": \"0x00\"}",
		       strlen("{\"code_id\": \"" ID64 "\", \"code_id\": \"0x00\"}"), "BAD_REQUEST",
		       "duplicate");
	expect_refused("{\"code_id\": \"" ID64 "\", \"input\": 1, \"input\": 2}",
		       strlen("{\"code_id\": \"" ID64 "\", \"input\": 1, \"input\": 2}"), "BAD_REQUEST",
		       "duplicate");
	/* unknown fields are named */
	expect_refused("{\"code_id\": \"" ID64 "\", \"inptu\": 1}",
		       strlen("{\"code_id\": \"" ID64 "\", \"inptu\": 1}"), "BAD_REQUEST",
		       "unknown field 'inptu'");
	expect_refused("{\"Code_id\": \"" ID64 "\"}", strlen("{\"Code_id\": \"" ID64 "\"}"),
		       "BAD_REQUEST", "unknown field 'Code_id'");
	/* code_id missing or not a string */
	expect_refused("{}", 2, "BAD_REQUEST", "code_id");
	expect_refused("{\"input\": 1}", strlen("{\"input\": 1}"), "BAD_REQUEST", "code_id");
	expect_refused("{\"code_id\": 123}", strlen("{\"code_id\": 123}"), "BAD_REQUEST", "code_id");
	expect_refused("{\"code_id\": null}", strlen("{\"code_id\": null}"), "BAD_REQUEST", "code_id");
	expect_refused("{\"code_id\": [\"" ID64 "\"]}", strlen("{\"code_id\": [\"" ID64 "\"]}"),
		       "BAD_REQUEST", "code_id");
	/* exactly one of code_id and tx_hash */
	expect_refused("{\"tx_hash\": \"0xabc\", \"code_id\": \"" ID64 "\"}",
		       strlen("{\"tx_hash\": \"0xabc\", \"code_id\": \"" ID64 "\"}"), "BAD_REQUEST",
		       "not both");
	expect_refused("{\"tx_hash\": 5}", strlen("{\"tx_hash\": 5}"), "BAD_REQUEST", "tx_hash");
	expect_refused("{\"tx_hash\": null, \"input\": 1}", strlen("{\"tx_hash\": null, \"input\": 1}"),
		       "BAD_REQUEST", "tx_hash");
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
