#ifndef TESTS_FUZZ_FUZZ_CODE_H
#define TESTS_FUZZ_FUZZ_CODE_H
/*
 * The invariants of a parsed or decoded code (common/code.h), shared by the
 * three code drivers (fuzz_code_js, fuzz_code_bundle, fuzz_code_decode):
 *
 *   - shape: modules strictly sorted by name, names 1..255 NUL-free bytes,
 *     every content NUL-terminated past its length, main names a non-empty
 *     esModule;
 *   - the canonical encoding decodes to a code with the same id that
 *     encodes to the same bytes, and the id is keccak256 of the encoding;
 *   - the JSON rendering parses back (without limits) to the same id.
 */
#include <string.h>

#include "code.h"
#include "eth/keccak.h"
#include "fuzz.h"

static inline void fuzz_code_check(const struct code *c)
{
	struct code back;
	struct buf enc = BUF_INIT, enc2 = BUF_INIT, json = BUF_INIT, err = BUF_INIT;
	unsigned char id[32], id2[32];
	int have_main = 0;

	FUZZ_CHECK(c->main != NULL && c->n > 0 && c->mods != NULL);
	for (size_t i = 0; i < c->n; i++) {
		const struct code_module *m = &c->mods[i];
		size_t nl = strlen(m->name);

		FUZZ_CHECK(nl >= 1 && nl <= CODE_NAME_MAX);
		FUZZ_CHECK(i == 0 || strcmp(c->mods[i - 1].name, m->name) < 0);
		FUZZ_CHECK((unsigned)m->type <= CODE_JSON);
		FUZZ_CHECK(m->data != NULL && m->data[m->len] == '\0');
		if (m->type == CODE_ESMODULE || m->type == CODE_TEXT || m->type == CODE_JSON)
			FUZZ_CHECK(memchr(m->data, 0, m->len) == NULL);
		if (m->type == CODE_WASM)
			FUZZ_CHECK(m->len >= 4 && !memcmp(m->data, "\0asm", 4));
		if (!strcmp(m->name, c->main)) {
			FUZZ_CHECK(m->type == CODE_ESMODULE && m->len > 0);
			have_main = 1;
		}
	}
	FUZZ_CHECK(have_main);

	code_id(c, id);
	FUZZ_CHECK(code_encode(c, &enc) == 0);
	eth_keccak256(enc.data, enc.len, id2);
	FUZZ_CHECK(!memcmp(id, id2, 32));
	FUZZ_CHECK(code_decode(&back, enc.data, enc.len) == 0);
	code_id(&back, id2);
	FUZZ_CHECK(!memcmp(id, id2, 32));
	FUZZ_CHECK(code_encode(&back, &enc2) == 0);
	FUZZ_CHECK(enc2.len == enc.len && !memcmp(enc.data, enc2.data, enc.len));
	code_release(&back);

	FUZZ_CHECK(code_to_json(c, &json) == 0);
	FUZZ_CHECK(code_from_bundle_json(&back, json.data, json.len, NULL, &err) == CODE_OK);
	code_id(&back, id2);
	FUZZ_CHECK(!memcmp(id, id2, 32));
	code_release(&back);

	buf_release(&enc);
	buf_release(&enc2);
	buf_release(&json);
	buf_release(&err);
}

#endif
