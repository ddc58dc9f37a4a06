/*
 * Fuzz fa_serverless_parse (fcgi-app/fa_api.h): the JSON body of
 * POST /api/serverless, checked by json_scan (common/json_scan.h), and what
 * the handler does with it before any code runs: the code id or tx hash
 * goes through fa_parse_code_id, and the input slice is posted to the
 * worker as it is.
 *
 * The whole input is the body, copied to a heap block of exactly its size
 * so ASan sees any read past it.
 *
 * Checked besides memory safety, against jansson (a parser we did not
 * write; JSON_DECODE_ANY | JSON_ALLOW_NUL, duplicates allowed):
 *   - the verdicts agree: "invalid JSON" from us exactly when jansson
 *     refuses the text, except where jansson's own limits refuse valid JSON
 *     (integers past 64 bits, reals past a double, \u0000 in a key, its
 *     depth counting scalars), where jansson drops a raw NUL byte (a bug:
 *     "1\0" loads), and our top-level duplicate-key refusal;
 *   - on text both accept, the top-level rules are the old ones, judged on
 *     jansson's tree: an object, known keys only, exactly one of code_id and
 *     tx_hash, a string; we refuse besides only a duplicate top-level key or
 *     an id past FA_SERVERLESS_ID_MAX or holding a NUL;
 *   - success: exactly one id, decoded equal to jansson's string, NUL-free
 *     and bounded; the input slice lies in the body and loads (on its own)
 *     equal to jansson's "input" member, or is absent when that is;
 *   - failure: an error code, a message, and nothing left set.
 * The parse result is released on both paths, as the handler does.
 */
#include <jansson.h>
#include <string.h>

#include "fa_api.h"
#include "fuzz.h"
#include "banned.h"

#define JFLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* jansson refused valid JSON for a limit of its own (see the header). */
static int jansson_limit(const json_error_t *e)
{
	return strstr(e->text, "too big") || strstr(e->text, "overflow") ||
	       strstr(e->text, "NUL byte in object key") || strstr(e->text, "depth");
}

/* The pre-json_scan rules, on jansson's tree (1 = a valid request). */
static int old_rules(json_t *j)
{
	const char *key;
	json_t *v, *tx;

	if (!json_is_object(j))
		return 0;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "code_id") && strcmp(key, "tx_hash") && strcmp(key, "input"))
			return 0;
	}
	tx = json_object_get(j, "tx_hash");
	if (tx)
		return json_is_string(tx) && !json_object_get(j, "code_id");
	return json_is_string(json_object_get(j, "code_id"));
}

/* The id string of j is one of ours would refuse: too long, or a NUL inside. */
static int id_out_of_bounds(json_t *j)
{
	json_t *id = json_object_get(j, "tx_hash");

	if (!id)
		id = json_object_get(j, "code_id");
	return json_string_length(id) > FA_SERVERLESS_ID_MAX ||
	       strlen(json_string_value(id)) != json_string_length(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *body = fuzz_dup(data, size);
	struct fa_serverless_req sr;
	struct buf err = BUF_INIT;
	const char *code = NULL, *msg;
	unsigned char id[32];
	json_error_t je;
	json_t *j, *in, *slice;
	int rc, raw_nul = memchr(body, '\0', size) != NULL;

	rc = fa_serverless_parse(body, size, &sr, &code, &err);
	j = json_loadb((const char *)body, size, JFLAGS, &je);
	msg = buf_cstr(&err);
	if (rc == 0) {
		const char *idt = sr.code_id ? sr.code_id : sr.tx_hash;

		FUZZ_CHECK(!sr.code_id != !sr.tx_hash);
		FUZZ_CHECK(strlen(idt) <= FA_SERVERLESS_ID_MAX);
		FUZZ_CHECK(err.len == 0);
		(void)fa_parse_code_id(idt, id);
		FUZZ_CHECK(!sr.input || ((const unsigned char *)sr.input >= body &&
					 (const unsigned char *)sr.input + sr.input_len <= body + size));
		FUZZ_CHECK(!sr.input || sr.input_len > 0);
		FUZZ_CHECK(!raw_nul);
		FUZZ_CHECK(j || jansson_limit(&je));
		if (j) {
			json_t *jid = json_object_get(j, sr.code_id ? "code_id" : "tx_hash");

			FUZZ_CHECK(old_rules(j));
			FUZZ_CHECK(json_string_length(jid) == strlen(idt) &&
				   !memcmp(json_string_value(jid), idt, strlen(idt)));
			in = json_object_get(j, "input");
			FUZZ_CHECK(!in == !sr.input);
		} else {
			in = NULL;
		}
		if (sr.input) {
			/* what the worker gets is JSON on its own */
			slice = json_loadb(sr.input, sr.input_len, JFLAGS, &je);
			FUZZ_CHECK(slice || jansson_limit(&je));
			FUZZ_CHECK(!slice || !in || json_equal(slice, in));
			json_decref(slice);
		}
	} else {
		FUZZ_CHECK(code != NULL && *code);
		FUZZ_CHECK(err.len > 0);
		FUZZ_CHECK(!sr.code_id && !sr.tx_hash && !sr.input);
		if (!strncmp(msg, "invalid JSON at line ", 21) && !strstr(msg, ": duplicate key \"")) {
			/* not JSON for us: not for jansson either (but for its NUL bug) */
			FUZZ_CHECK(!j || raw_nul);
		} else if (!strstr(msg, ": duplicate key \"")) {
			/* JSON for us: for jansson too, unless a limit of its own */
			FUZZ_CHECK(j || jansson_limit(&je));
			FUZZ_CHECK(!j || !old_rules(j) || id_out_of_bounds(j));
		}
	}
	json_decref(j);
	fa_serverless_req_release(&sr);
	buf_release(&err);
	free(body);
	return 0;
}
