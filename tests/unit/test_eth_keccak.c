/*
 * Keccak-256 against published vectors: the Ethereum empty/"abc" hashes,
 * Keccak team ShortMsgKAT entries, the 200 x 0xa3 message, lengths at the
 * 136-byte rate boundary, event/selector hashes, and the EIP-712 specification
 * example (type hashes, domain separator, struct hash, final digest) plus
 * the mainnet DAI domain separator, all of which are keccak compositions.
 * Incremental hashing is checked against one-shot with random split points.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/keccak.h"
#include "banned.h"

static void from_hex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	unsigned int v;

	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void check_hash(const void *data, size_t len, const char *want)
{
	unsigned char h[32];
	char hex[65];

	eth_keccak256(data, len, h);
	to_hex(h, 32, hex);
	ck_assert_str_eq(hex, want);
}

static void check_str(const char *s, const char *want)
{
	check_hash(s, strlen(s), want);
}

START_TEST(test_empty_abc)
{
	check_str("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check_hash(NULL, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check_str("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}
END_TEST

/* Not NIST SHA3-256 (which gives a7ffc6f8... for ""). */
START_TEST(test_not_sha3)
{
	unsigned char h[32], sha3_empty[32];

	from_hex("a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
		 sha3_empty, 32);
	eth_keccak256("", 0, h);
	ck_assert_mem_ne(h, sha3_empty, 32);
}
END_TEST

START_TEST(test_fox)
{
	check_str("The quick brown fox jumps over the lazy dog",
		  "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
	/* one character more changes everything */
	check_str("The quick brown fox jumps over the lazy dog.",
		  "578951e24efd62a3d63a86f7cd19aaa53c898fe287d2552133220370240b572d");
}
END_TEST

/* Keccak team ShortMsgKAT_256 entries (Len = 8, 16, 128, 800 bits). */
START_TEST(test_kat)
{
	static const unsigned char m100[] = {
		0x43, 0x3c, 0x53, 0x03, 0x13, 0x16, 0x24, 0xc0, 0x02, 0x1d,
		0x86, 0x8a, 0x30, 0x82, 0x54, 0x75, 0xe8, 0xd0, 0xbd, 0x30,
		0x52, 0xa0, 0x22, 0x18, 0x03, 0x98, 0xf4, 0xca, 0x44, 0x23,
		0xb9, 0x82, 0x14, 0xb6, 0xbe, 0xaa, 0xc2, 0x1c, 0x88, 0x07,
		0xa2, 0xc3, 0x3f, 0x8c, 0x93, 0xbd, 0x42, 0xb0, 0x92, 0xcc,
		0x1b, 0x06, 0xce, 0xdf, 0x32, 0x24, 0xd5, 0xed, 0x1e, 0xc2,
		0x97, 0x84, 0x44, 0x4f, 0x22, 0xe0, 0x8a, 0x55, 0xaa, 0x58,
		0x54, 0x2b, 0x52, 0x4b, 0x02, 0xcd, 0x3d, 0x5d, 0x5f, 0x69,
		0x07, 0xaf, 0xe7, 0x1c, 0x5d, 0x74, 0x62, 0x22, 0x4a, 0x3f,
		0x9d, 0x9e, 0x53, 0xe7, 0xe0, 0x84, 0x6d, 0xcb, 0xb4, 0xce,
	};

	check_hash("\xcc", 1, "eead6dbfc7340a56caedc044696a168870549a6a7f6f56961e84a54bd9970b8a");
	check_hash("\x41\xfb", 2, "a8eaceda4d47b3281a795ad9e1ea2122b407baf9aabcb9e18b5717b7873537d2");
	check_hash("\x52\xa6\x08\xab\x21\xcc\xdd\x8a\x44\x57\xa5\x7e\xde\x78\x21\x76", 16,
		   "0e32defa2071f0b5ac0e6a108b842ed0f1d3249712f58ee0ddf956fe332a5f95");
	check_hash(m100, sizeof(m100),
		   "ce87a5173bffd92399221658f801d45c294d9006ee9f3f9d419c8d427748dc41");
}
END_TEST

START_TEST(test_a3_200)
{
	unsigned char m[200];
	struct eth_keccak k;
	unsigned char h1[32], h2[32];
	size_t i;

	memset(m, 0xa3, sizeof(m));
	check_hash(m, sizeof(m),
		   "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
	/* byte by byte and in two halves, as the FIPS 202 examples do */
	eth_keccak_init(&k);
	for (i = 0; i < sizeof(m); i++)
		eth_keccak_update(&k, &m[i], 1);
	eth_keccak_final(&k, h1);
	eth_keccak_update(&k, m, 100); /* final re-initialised k */
	eth_keccak_update(&k, m + 100, 100);
	eth_keccak_final(&k, h2);
	eth_keccak256(m, sizeof(m), m); /* output may alias input */
	ck_assert_mem_eq(h1, m, 32);
	ck_assert_mem_eq(h2, m, 32);
}
END_TEST

/*
 * 135 bytes: the pad bits share one byte (0x81); 136: the padding takes a
 * block of its own; 137: one byte spills into a second block.
 */
START_TEST(test_rate_boundaries)
{
	unsigned char z[137], a[137];

	memset(z, 0, sizeof(z));
	memset(a, 0xa3, sizeof(a));
	check_hash(z, 135, "29e3704feeca7fb9ba229f0fa04d9b36449cf3ad6e1d85d9cfff3a10df9abc3e");
	check_hash(z, 136, "3a5912a7c5faa06ee4fe906253e339467a9ce87d533c65be3c15cb231cdb25f9");
	check_hash(z, 137, "bee7fbb405cb0d91a8775e338c4a5e4b5d6b2d051f687fa942043cffdc73bd28");
	check_hash(a, 135, "3d28d08c3dacab77392064a939f3e7f8d03f2e02e2c664ac08a05f63ac652626");
	check_hash(a, 136, "b82d89d96e5575d11a9e1f4cabb2a45e60899e69a19a724cd796bdcf13511018");
	check_hash(a, 137, "ec8008a74e50bc7d6b22c3ad85402bf10e6d4449f3c8618e36c461b8a44eeafb");
}
END_TEST

START_TEST(test_signatures)
{
	check_str("Transfer(address,address,uint256)",
		  "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
	check_str("transfer(address,uint256)",
		  "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b");
	/* EIP-2612 and DAI permit type hashes */
	check_str("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)",
		  "6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9");
	check_str("Permit(address holder,address spender,uint256 nonce,uint256 expiry,bool allowed)",
		  "ea2aa0a1be11a07ed86d755c93467f4f82362b452371d1ba94d1715123511acb");
}
END_TEST

/* 1 MiB of zeros: incremental with random split points == one-shot. */
START_TEST(test_incremental_random_splits)
{
	const size_t n = 1 << 20;
	unsigned char *m = calloc(1, n);
	unsigned char ref[32], h[32];
	char hex[65];
	struct eth_keccak k;
	int round;

	ck_assert_ptr_nonnull(m);
	eth_keccak256(m, n, ref);
	to_hex(ref, 32, hex);
	ck_assert_str_eq(hex, "7b6ff0a03e9c5a8e77a2059bf28e26a7f0e8d3939a7cfe2193908ad8d683be90");

	srand(12345);
	for (round = 0; round < 20; round++) {
		size_t off = 0;

		eth_keccak_init(&k);
		while (off < n) {
			/* mix tiny, around-the-rate and large pieces */
			size_t piece;

			switch (rand() % 4) {
			case 0: piece = (size_t)(rand() % 8); break;
			case 1: piece = 130 + (size_t)(rand() % 14); break;
			case 2: piece = (size_t)(rand() % 1000); break;
			default: piece = (size_t)(rand() % 100000); break;
			}
			if (piece > n - off)
				piece = n - off;
			eth_keccak_update(&k, m + off, piece);
			off += piece;
		}
		eth_keccak_final(&k, h);
		ck_assert_mem_eq(h, ref, 32);
	}

	/* and for non-constant data at every short length */
	for (size_t i = 0; i < 600; i++)
		m[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= 600; len += 1) {
		size_t cut = len ? (size_t)rand() % (len + 1) : 0;

		eth_keccak256(m, len, ref);
		eth_keccak_init(&k);
		eth_keccak_update(&k, m, cut);
		eth_keccak_update(&k, m + cut, 0);
		eth_keccak_update(&k, m + cut, len - cut);
		eth_keccak_final(&k, h);
		ck_assert_mem_eq(h, ref, 32);
	}
	free(m);
}
END_TEST

/* abi.encode of a struct whose fields are all 32-byte words */
static void hash_words(const unsigned char (*w)[32], size_t n,
		       unsigned char out[32])
{
	struct eth_keccak k;
	size_t i;

	eth_keccak_init(&k);
	for (i = 0; i < n; i++)
		eth_keccak_update(&k, w[i], 32);
	eth_keccak_final(&k, out);
}

static void word_address(const char *hex40, unsigned char w[32])
{
	memset(w, 0, 12);
	from_hex(hex40, w + 12, 20);
}

static void word_uint(unsigned long long v, unsigned char w[32])
{
	int i;

	memset(w, 0, 32);
	for (i = 31; i >= 24; i--, v >>= 8)
		w[i] = (unsigned char)v;
}

static const char domain_type[] =
	"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

static void domain_separator(const char *name, const char *version,
			     unsigned long long chain_id, const char *contract,
			     unsigned char out[32])
{
	unsigned char w[5][32];

	eth_keccak256(domain_type, strlen(domain_type), w[0]);
	eth_keccak256(name, strlen(name), w[1]);
	eth_keccak256(version, strlen(version), w[2]);
	word_uint(chain_id, w[3]);
	word_address(contract, w[4]);
	hash_words((const unsigned char (*)[32])w, 5, out);
}

/* The EIP-712 specification example (Example.js / Example.sol). */
START_TEST(test_eip712_mail)
{
	static const char person_type[] = "Person(string name,address wallet)";
	static const char mail_type[] =
		"Mail(Person from,Person to,string contents)"
		"Person(string name,address wallet)";
	unsigned char dom[32], p[3][32], m[4][32], msg[32], digest[32];
	char hex[65];
	struct eth_keccak k;

	check_str(domain_type,
		  "8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
	check_str(mail_type,
		  "a0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");

	domain_separator("Ether Mail", "1", 1,
			 "CcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC", dom);
	to_hex(dom, 32, hex);
	ck_assert_str_eq(hex, "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");

	eth_keccak256(mail_type, strlen(mail_type), m[0]);
	eth_keccak256(person_type, strlen(person_type), p[0]);
	eth_keccak256("Cow", 3, p[1]);
	word_address("CD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", p[2]);
	hash_words((const unsigned char (*)[32])p, 3, m[1]);
	eth_keccak256("Bob", 3, p[1]);
	word_address("bBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB", p[2]);
	hash_words((const unsigned char (*)[32])p, 3, m[2]);
	eth_keccak256("Hello, Bob!", 11, m[3]);
	hash_words((const unsigned char (*)[32])m, 4, msg);
	to_hex(msg, 32, hex);
	ck_assert_str_eq(hex, "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");

	eth_keccak_init(&k);
	eth_keccak_update(&k, "\x19\x01", 2);
	eth_keccak_update(&k, dom, 32);
	eth_keccak_update(&k, msg, 32);
	eth_keccak_final(&k, digest);
	to_hex(digest, 32, hex);
	ck_assert_str_eq(hex, "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
}
END_TEST

/* DOMAIN_SEPARATOR() of the mainnet DAI token (chain id 1). */
START_TEST(test_eip712_dai)
{
	unsigned char dom[32];
	char hex[65];

	domain_separator("Dai Stablecoin", "1", 1,
			 "6B175474E89094C44Da98b954EedeAC495271d0F", dom);
	to_hex(dom, 32, hex);
	ck_assert_str_eq(hex, "dbb8cf42e1ecb028be3f3dbc922e1d878b963f411dc388ced501601c60f7c6f7");
	/* a different chain id gives a different separator */
	domain_separator("Dai Stablecoin", "1", 5,
			 "6B175474E89094C44Da98b954EedeAC495271d0F", dom);
	to_hex(dom, 32, hex);
	ck_assert_str_ne(hex, "dbb8cf42e1ecb028be3f3dbc922e1d878b963f411dc388ced501601c60f7c6f7");
}
END_TEST

static Suite *keccak_suite(void)
{
	Suite *s = suite_create("eth_keccak");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_empty_abc);
	tcase_add_test(tc, test_not_sha3);
	tcase_add_test(tc, test_fox);
	tcase_add_test(tc, test_kat);
	tcase_add_test(tc, test_a3_200);
	tcase_add_test(tc, test_rate_boundaries);
	tcase_add_test(tc, test_signatures);
	tcase_add_test(tc, test_incremental_random_splits);
	tcase_add_test(tc, test_eip712_mail);
	tcase_add_test(tc, test_eip712_dai);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keccak_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
