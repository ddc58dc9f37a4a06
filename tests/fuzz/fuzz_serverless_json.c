/*
 * Fuzz fa_serverless_parse (fcgi-app/fa_api.h): the JSON body of
 * POST /api/serverless, and what the handler does with it before any code
 * runs: the code id or tx hash goes through fa_parse_code_id, and the input
 * is serialised again as the body posted to the worker.
 *
 * Checked besides memory safety:
 *   - success: exactly one of code_id and tx_hash is set, and the input,
 *     dumped as the handler dumps it, is JSON that loads back equal;
 *   - failure: an error code and a message for the client.
 * The parse result is released on both paths, as the handler does.
 */
#include <string.h>

#include "fa_api.h"
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
	struct fa_serverless_req sr;
	struct buf err = BUF_INIT;
	const char *code = NULL;
	unsigned char id[32];

	if (fa_serverless_parse(data, size, &sr, &code, &err) == 0) {
		json_t *in = sr.input ? sr.input : json_null();
		json_t *back;
		char *text;

		FUZZ_CHECK(sr.root != NULL);
		FUZZ_CHECK(!sr.code_id != !sr.tx_hash);
		(void)fa_parse_code_id(sr.code_id ? sr.code_id : sr.tx_hash, id);
		text = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
		FUZZ_CHECK(text != NULL);
		back = json_loads(text, JSON_DECODE_ANY, NULL);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(json_equal(back, in));
		json_decref(back);
		free(text);
	} else {
		FUZZ_CHECK(code != NULL && *code);
		FUZZ_CHECK(err.len > 0);
	}
	fa_serverless_req_release(&sr);
	buf_release(&err);
	return 0;
}
