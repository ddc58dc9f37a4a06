#ifndef COMMON_ETH_ETH_EIP712_H
#define COMMON_ETH_ETH_EIP712_H
/*
 * EIP-712 typed-data hashing for the two messages the executor signs
 * (PROTOCOL.md sections 2 and 3), plus the general pieces they are built
 * from.
 *
 *   domainSeparator = keccak256(abi.encode(typeHash(EIP712Domain), fields))
 *   digest          = keccak256(0x19 0x01 || domainSeparator || structHash)
 *
 * The Oyster contracts use the short domain "EIP712Domain(string name,
 * string version)" with no chainId and no verifyingContract (so a
 * signature is valid on every chain and contract with that name; the
 * contracts bound replay with signTimestamp instead).  The full domain with
 * chainId and verifyingContract is provided for everything else and for
 * the EIP's own test vector.
 *
 * The protocol structs contain only fixed-size fields (bytes become their
 * keccak256), so every struct hash here is keccak256 over 32-byte words
 * built in place: no allocation, no failure, hence void functions.  The
 * domain separators of the two protocol domains are constants of the
 * protocol (checked by the unit tests against PROTOCOL.md) but are computed
 * rather than hard-coded, so the code shows where they come from.
 *
 * Signing is eth_sign_digest() from eth_key.h on the digest ("signed as a
 * prehash": no EIP-191 personal-message prefix).
 */
#include <stddef.h>
#include <stdint.h>

#include "eth/eth_u256.h"

#define ETH_EIP712_EXECUTORS_NAME "marlin.oyster.Executors"
#define ETH_EIP712_JOBS_NAME "marlin.oyster.Jobs"
#define ETH_EIP712_VERSION "1"
#define ETH_EIP712_REGISTER_TYPE \
	"Register(address owner,uint256 jobCapacity,uint8 env,uint256 signTimestamp)"
#define ETH_EIP712_SUBMIT_OUTPUT_TYPE \
	"SubmitOutput(uint256 jobId,bytes output,uint256 totalTime,uint8 errorCode,uint256 signTimestamp)"

/* EIP712Domain(string name,string version) */
void eth_eip712_domain_separator(const char *name, const char *version,
				 unsigned char out[32]);
/* EIP712Domain(string name,string version,uint256 chainId,address verifyingContract) */
void eth_eip712_domain_separator_full(const char *name, const char *version,
				      const struct eth_u256 *chain_id,
				      const unsigned char contract[20],
				      unsigned char out[32]);
/* keccak256(0x1901 || domain || struct_hash) */
void eth_eip712_digest(const unsigned char domain[32],
		       const unsigned char struct_hash[32],
		       unsigned char out[32]);

/* Register struct hash and digest under marlin.oyster.Executors / 1. */
void eth_eip712_register_hash(const unsigned char owner[20],
			      uint64_t job_capacity, uint8_t env,
			      uint64_t sign_timestamp, unsigned char out[32]);
void eth_eip712_register_digest(const unsigned char owner[20],
				uint64_t job_capacity, uint8_t env,
				uint64_t sign_timestamp,
				unsigned char digest[32]);

/* SubmitOutput struct hash and digest under marlin.oyster.Jobs / 1. */
void eth_eip712_submit_output_hash(const struct eth_u256 *job_id,
				   const void *output, size_t output_len,
				   uint64_t total_time, uint8_t error_code,
				   uint64_t sign_timestamp,
				   unsigned char out[32]);
void eth_eip712_submit_output_digest(const struct eth_u256 *job_id,
				     const void *output, size_t output_len,
				     uint64_t total_time, uint8_t error_code,
				     uint64_t sign_timestamp,
				     unsigned char digest[32]);

#endif
