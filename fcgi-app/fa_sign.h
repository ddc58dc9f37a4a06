#ifndef FCGI_APP_FA_SIGN_H
#define FCGI_APP_FA_SIGN_H
/*
 * Signed HTTP responses (Oyster Serverless, PROTOCOL.md section 6): the
 * enclave key signs keccak256 of
 *
 *   "|oyster-serverless-hasher|" "|timestamp|" u64be(ts) "|request|"
 *   "|method|" method "|pathandquery|" path?query "|host|" host
 *   "|body|" request body "|response|" "|body|" response body
 *
 * and the response carries X-Oyster-Timestamp (unix seconds) and
 * X-Oyster-Signature (0x + hex of r||s||v, v = 27 + recovery id), so a
 * client can check that the answer came from this enclave for exactly this
 * request.
 */
#include <stddef.h>
#include <stdint.h>

#include "eth_key.h"

struct fa_sign_input {
	uint64_t timestamp;
	const char *method;
	const char *path_and_query;
	const char *host;
	const void *req_body;
	size_t req_len;
	const void *resp_body;
	size_t resp_len;
};

void fa_sign_digest(const struct fa_sign_input *in, unsigned char digest[32]);
int fa_sign(const struct eth_key *key, const struct fa_sign_input *in, unsigned char sig[65]);

#endif
