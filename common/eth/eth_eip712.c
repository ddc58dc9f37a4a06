/*
 * EIP-712 hashing for the Oyster messages; see eth_eip712.h.
 *
 * Every encodeData field used here is one 32-byte word (uint/address
 * words, keccak256 of string/bytes), so the struct hashes are streamed
 * word by word into one keccak context.
 */
#include "eth/eth_eip712.h"

#include <string.h>

#include "eth/keccak.h"
#include "banned.h"

#define DOMAIN_TYPE "EIP712Domain(string name,string version)"
#define DOMAIN_TYPE_FULL \
	"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"

static void add_str_hash(struct eth_keccak *k, const void *p, size_t n)
{
	unsigned char h[32];

	eth_keccak256(p, n, h);
	eth_keccak_update(k, h, 32);
}

static void add_u64(struct eth_keccak *k, uint64_t v)
{
	unsigned char w[32];
	int i;

	memset(w, 0, sizeof(w));
	for (i = 31; i >= 24; i--, v >>= 8)
		w[i] = (unsigned char)v;
	eth_keccak_update(k, w, 32);
}

static void add_address(struct eth_keccak *k, const unsigned char a[20])
{
	unsigned char w[32];

	memset(w, 0, 12);
	memcpy(w + 12, a, 20);
	eth_keccak_update(k, w, 32);
}

void eth_eip712_domain_separator(const char *name, const char *version,
				 unsigned char out[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	add_str_hash(&k, DOMAIN_TYPE, strlen(DOMAIN_TYPE));
	add_str_hash(&k, name, strlen(name));
	add_str_hash(&k, version, strlen(version));
	eth_keccak_final(&k, out);
}

void eth_eip712_domain_separator_full(const char *name, const char *version,
				      const struct eth_u256 *chain_id,
				      const unsigned char contract[20],
				      unsigned char out[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	add_str_hash(&k, DOMAIN_TYPE_FULL, strlen(DOMAIN_TYPE_FULL));
	add_str_hash(&k, name, strlen(name));
	add_str_hash(&k, version, strlen(version));
	eth_keccak_update(&k, chain_id->b, 32);
	add_address(&k, contract);
	eth_keccak_final(&k, out);
}

void eth_eip712_digest(const unsigned char domain[32],
		       const unsigned char struct_hash[32],
		       unsigned char out[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	eth_keccak_update(&k, "\x19\x01", 2);
	eth_keccak_update(&k, domain, 32);
	eth_keccak_update(&k, struct_hash, 32);
	eth_keccak_final(&k, out);
}

void eth_eip712_register_hash(const unsigned char owner[20],
			      uint64_t job_capacity, uint8_t env,
			      uint64_t sign_timestamp, unsigned char out[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	add_str_hash(&k, ETH_EIP712_REGISTER_TYPE,
		     strlen(ETH_EIP712_REGISTER_TYPE));
	add_address(&k, owner);
	add_u64(&k, job_capacity);
	add_u64(&k, env);
	add_u64(&k, sign_timestamp);
	eth_keccak_final(&k, out);
}

void eth_eip712_register_digest(const unsigned char owner[20],
				uint64_t job_capacity, uint8_t env,
				uint64_t sign_timestamp,
				unsigned char digest[32])
{
	unsigned char dom[32], sh[32];

	eth_eip712_domain_separator(ETH_EIP712_EXECUTORS_NAME,
				    ETH_EIP712_VERSION, dom);
	eth_eip712_register_hash(owner, job_capacity, env, sign_timestamp, sh);
	eth_eip712_digest(dom, sh, digest);
}

void eth_eip712_submit_output_hash(const struct eth_u256 *job_id,
				   const void *output, size_t output_len,
				   uint64_t total_time, uint8_t error_code,
				   uint64_t sign_timestamp,
				   unsigned char out[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	add_str_hash(&k, ETH_EIP712_SUBMIT_OUTPUT_TYPE,
		     strlen(ETH_EIP712_SUBMIT_OUTPUT_TYPE));
	eth_keccak_update(&k, job_id->b, 32);
	add_str_hash(&k, output, output_len);
	add_u64(&k, total_time);
	add_u64(&k, error_code);
	add_u64(&k, sign_timestamp);
	eth_keccak_final(&k, out);
}

void eth_eip712_submit_output_digest(const struct eth_u256 *job_id,
				     const void *output, size_t output_len,
				     uint64_t total_time, uint8_t error_code,
				     uint64_t sign_timestamp,
				     unsigned char digest[32])
{
	unsigned char dom[32], sh[32];

	eth_eip712_domain_separator(ETH_EIP712_JOBS_NAME, ETH_EIP712_VERSION,
				    dom);
	eth_eip712_submit_output_hash(job_id, output, output_len, total_time,
				      error_code, sign_timestamp, sh);
	eth_eip712_digest(dom, sh, digest);
}
