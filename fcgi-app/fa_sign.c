#include "fa_sign.h"

#include <string.h>

#include "keccak.h"
#include "banned.h"

static void add(struct eth_keccak *k, const char *s)
{
	eth_keccak_update(k, s, strlen(s));
}

void fa_sign_digest(const struct fa_sign_input *in, unsigned char digest[32])
{
	struct eth_keccak k;
	unsigned char ts[8];

	for (int i = 0; i < 8; i++)
		ts[i] = (unsigned char)(in->timestamp >> (56 - 8 * i));
	eth_keccak_init(&k);
	add(&k, "|oyster-serverless-hasher|");
	add(&k, "|timestamp|");
	eth_keccak_update(&k, ts, sizeof(ts));
	add(&k, "|request|");
	add(&k, "|method|");
	add(&k, in->method ? in->method : "");
	add(&k, "|pathandquery|");
	add(&k, in->path_and_query ? in->path_and_query : "");
	add(&k, "|host|");
	add(&k, in->host ? in->host : "");
	add(&k, "|body|");
	eth_keccak_update(&k, in->req_body, in->req_len);
	add(&k, "|response|");
	add(&k, "|body|");
	eth_keccak_update(&k, in->resp_body, in->resp_len);
	eth_keccak_final(&k, digest);
}

int fa_sign(const struct eth_key *key, const struct fa_sign_input *in, unsigned char sig[65])
{
	unsigned char digest[32];

	fa_sign_digest(in, digest);
	return eth_sign_digest(key, digest, sig);
}
