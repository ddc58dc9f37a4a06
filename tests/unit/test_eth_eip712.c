/*
 * Tests for common/eth/eth_eip712.c.
 *
 * Published vectors: the EIP-712 specification's "Mail" example (domain
 * "Ether Mail"/1/chainId 1/0xCcCC..., separator 0xf2cee375..., digest
 * 0xbe609aee..., and its signature by the key keccak256("cow"): v 28,
 * r 0x4355c47d..., s 0x07299936...), built here from eth_abi encodings of
 * the nested Person/Mail structs; and the two Oyster domain separators
 * given in PROTOCOL.md (Executors 0x871063a5..., Jobs 0x92348788...).
 *
 * Cross-checks against foundry: for Register and SubmitOutput messages with
 * several values (including an empty output, a 20 KiB output and a job id
 * above 2^64), `cast wallet sign --data --from-file typed.json` (cast
 * computes the EIP-712 digest itself from the JSON) must give exactly our
 * signature over our digest (RFC 6979), `cast wallet sign --no-hash` over
 * our digest must agree, and `cast wallet verify --data` must accept it.
 * The struct hashes are also rebuilt independently with eth_abi.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eth/eth_abi.h"
#include "eth/eth_eip712.h"
#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/keccak.h"
#include "banned.h"

#define ANVIL0_SECRET "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

static char *hx(char *out, size_t n, const unsigned char *p, size_t len)
{
	return eth_hex_str(out, n, p, len);
}

static void hash_str(const char *s, unsigned char out[32])
{
	eth_keccak256(s, strlen(s), out);
}

/* keccak256(abi.encode(words...)) via eth_abi, as EIP-712 defines it. */
static void hash_encoded(const char *type, struct eth_abi_val *v,
			 unsigned char out[32])
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(eth_abi_encode(type, v, &b), 0);
	eth_keccak256(b.data, b.len, out);
	eth_abi_val_free(v);
	buf_release(&b);
}

static void addr_of(const char *hex, unsigned char a[20])
{
	ck_assert_int_eq(eth_address_parse(hex, strlen(hex), a, NULL), 0);
}

START_TEST(test_oyster_domains)
{
	unsigned char d[32];
	char h[ETH_HEX_STR_SIZE(32)];

	eth_eip712_domain_separator(ETH_EIP712_EXECUTORS_NAME, ETH_EIP712_VERSION, d);
	ck_assert_str_eq(hx(h, sizeof(h), d, 32),
			 "0x871063a5a882629313a49affd6d5731126799cfa9053a1481fe360bb79fd49a3");
	eth_eip712_domain_separator(ETH_EIP712_JOBS_NAME, ETH_EIP712_VERSION, d);
	ck_assert_str_eq(hx(h, sizeof(h), d, 32),
			 "0x92348788277b460cc420185f9a17ff6b57b89f1c70d19a46fce67bb5b5319731");
	/* the name matters */
	eth_eip712_domain_separator("marlin.oyster.Job", "1", d);
	ck_assert_str_ne(hx(h, sizeof(h), d, 32),
			 "0x92348788277b460cc420185f9a17ff6b57b89f1c70d19a46fce67bb5b5319731");
}
END_TEST

START_TEST(test_eip712_mail_example)
{
	unsigned char dom[32], th_person[32], th_mail[32], from[32], to[32],
		      mail[32], digest[32], a[20], s[32], sig[65], rec[20];
	char h[ETH_HEX_STR_SIZE(65)];
	struct eth_u256 chain;
	struct eth_abi_val *v;
	struct eth_key cow;

	eth_u256_from_u64(&chain, 1);
	addr_of("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC", a);
	eth_eip712_domain_separator_full("Ether Mail", "1", &chain, a, dom);
	ck_assert_str_eq(hx(h, sizeof(h), dom, 32),
			 "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");

	hash_str("Person(string name,address wallet)", th_person);
	hash_str("Mail(Person from,Person to,string contents)Person(string name,address wallet)",
		 th_mail);

	/* Person structs: (typeHash, keccak(name), wallet) */
	v = eth_abi_val_tuple();
	eth_abi_append(v, eth_abi_val_fbytes(th_person, 32));
	hash_str("Cow", s);
	eth_abi_append(v, eth_abi_val_fbytes(s, 32));
	addr_of("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", a);
	eth_abi_append(v, eth_abi_val_address(a));
	hash_encoded("(bytes32,bytes32,address)", v, from);
	v = eth_abi_val_tuple();
	eth_abi_append(v, eth_abi_val_fbytes(th_person, 32));
	hash_str("Bob", s);
	eth_abi_append(v, eth_abi_val_fbytes(s, 32));
	addr_of("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB", a);
	eth_abi_append(v, eth_abi_val_address(a));
	hash_encoded("(bytes32,bytes32,address)", v, to);
	/* Mail: (typeHash, hash(from), hash(to), keccak(contents)) */
	v = eth_abi_val_tuple();
	eth_abi_append(v, eth_abi_val_fbytes(th_mail, 32));
	eth_abi_append(v, eth_abi_val_fbytes(from, 32));
	eth_abi_append(v, eth_abi_val_fbytes(to, 32));
	hash_str("Hello, Bob!", s);
	eth_abi_append(v, eth_abi_val_fbytes(s, 32));
	hash_encoded("(bytes32,bytes32,bytes32,bytes32)", v, mail);
	ck_assert_str_eq(hx(h, sizeof(h), mail, 32),
			 "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");

	eth_eip712_digest(dom, mail, digest);
	ck_assert_str_eq(hx(h, sizeof(h), digest, 32),
			 "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

	/* the specification's signature with the cow key */
	hash_str("cow", s);
	ck_assert_int_eq(eth_key_from_secret(&cow, s, NULL), 0);
	ck_assert_int_eq(eth_sign_digest(&cow, digest, sig), 0);
	ck_assert_str_eq(hx(h, sizeof(h), sig, 65),
			 "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
			 "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"
			 "1c");
	ck_assert_int_eq(eth_recover(digest, sig, rec, NULL), 0);
	addr_of("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", a);
	ck_assert_mem_eq(rec, a, 20);
	eth_key_wipe(&cow);
}
END_TEST

/* Our fixed-word struct hashes equal the generic abi.encode construction. */
START_TEST(test_struct_hashes_via_abi)
{
	unsigned char owner[20], mine[32], ref[32], th[32], oh[32];
	struct eth_abi_val *v;
	struct eth_u256 job;
	const char out[] = "hello output";

	memset(owner, 0x42, 20);
	eth_eip712_register_hash(owner, 20, 1, 1700000000, mine);
	hash_str(ETH_EIP712_REGISTER_TYPE, th);
	v = eth_abi_val_tuple();
	eth_abi_append(v, eth_abi_val_fbytes(th, 32));
	eth_abi_append(v, eth_abi_val_address(owner));
	eth_abi_append(v, eth_abi_val_uint_u64(20));
	eth_abi_append(v, eth_abi_val_uint_u64(1));
	eth_abi_append(v, eth_abi_val_uint_u64(1700000000));
	hash_encoded("(bytes32,address,uint256,uint8,uint256)", v, ref);
	ck_assert_mem_eq(mine, ref, 32);

	eth_u256_from_u64(&job, 99);
	job.b[0] = 0x80; /* a large id */
	eth_eip712_submit_output_hash(&job, out, strlen(out), 1500, 0, 1700000001, mine);
	hash_str(ETH_EIP712_SUBMIT_OUTPUT_TYPE, th);
	eth_keccak256(out, strlen(out), oh);
	v = eth_abi_val_tuple();
	eth_abi_append(v, eth_abi_val_fbytes(th, 32));
	eth_abi_append(v, eth_abi_val_uint(&job));
	eth_abi_append(v, eth_abi_val_fbytes(oh, 32));
	eth_abi_append(v, eth_abi_val_uint_u64(1500));
	eth_abi_append(v, eth_abi_val_uint_u64(0));
	eth_abi_append(v, eth_abi_val_uint_u64(1700000001));
	hash_encoded("(bytes32,uint256,bytes32,uint256,uint8,uint256)", v, ref);
	ck_assert_mem_eq(mine, ref, 32);

	/* every field changes the digest */
	{
		unsigned char d0[32], d1[32];

		eth_eip712_submit_output_digest(&job, out, strlen(out), 1500, 0, 1700000001, d0);
		eth_eip712_submit_output_digest(&job, out, strlen(out) - 1, 1500, 0, 1700000001, d1);
		ck_assert_mem_ne(d0, d1, 32);
		eth_eip712_submit_output_digest(&job, out, strlen(out), 1501, 0, 1700000001, d1);
		ck_assert_mem_ne(d0, d1, 32);
		eth_eip712_submit_output_digest(&job, out, strlen(out), 1500, 4, 1700000001, d1);
		ck_assert_mem_ne(d0, d1, 32);
		eth_eip712_submit_output_digest(&job, out, strlen(out), 1500, 0, 1700000002, d1);
		ck_assert_mem_ne(d0, d1, 32);
		eth_eip712_register_digest(owner, 20, 1, 1700000000, d0);
		eth_eip712_register_digest(owner, 21, 1, 1700000000, d1);
		ck_assert_mem_ne(d0, d1, 32);
	}
}
END_TEST

/* ---- cast cross-checks ---- */

static const char *cast_path(void)
{
	const char *p = getenv("OYSTER_CAST");

	return p && *p ? p : "node_modules/@foundry-rs/cast-linux-amd64/bin/cast";
}

static int have_cast(void)
{
	if (access(cast_path(), X_OK) == 0)
		return 1;
	fprintf(stderr, "SKIP: cast not found at %s (set OYSTER_CAST)\n",
		cast_path());
	return 0;
}

static int run(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	char chunk[4096];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_reset(out);
	f = popen(cmd.data, "r");
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	st = pclose(f);
	while (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	buf_release(&cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(s, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Sign digest ourselves; cast must produce the same signature from the
 * typed-data JSON, and from the raw digest; and verify it.
 */
static void check_with_cast(const char *json, const unsigned char digest[32])
{
	char path[] = "/tmp/test_eth_eip712.XXXXXX";
	char sh[ETH_SIG_HEX_SIZE], dh[ETH_HEX_STR_SIZE(32)], ah[ETH_ADDR_HEX_SIZE];
	unsigned char sig[65], rec[20];
	struct eth_key k;
	struct buf out = BUF_INIT;
	int fd;

	ck_assert_int_eq(eth_key_from_hex(&k, ANVIL0_SECRET, strlen(ANVIL0_SECRET), NULL), 0);
	ck_assert_int_eq(eth_sign_digest(&k, digest, sig), 0);
	eth_sig_hex(sig, sh);
	hx(dh, sizeof(dh), digest, 32);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_text(path, json);

	ck_assert_int_eq(run(&out, "%s wallet sign --private-key %s --data --from-file %s",
			     cast_path(), ANVIL0_SECRET, path), 0);
	ck_assert_str_eq(out.data, sh);
	ck_assert_int_eq(run(&out, "%s wallet sign --no-hash --private-key %s %s",
			     cast_path(), ANVIL0_SECRET, dh), 0);
	ck_assert_str_eq(out.data, sh);
	ck_assert_int_eq(run(&out, "%s wallet verify --address %s --data --from-file %s %s",
			     cast_path(), eth_address_hex(k.addr, ah), path, sh), 0);
	/* and our recovery agrees on who signed */
	ck_assert_int_eq(eth_recover(digest, sig, rec, NULL), 0);
	ck_assert_mem_eq(rec, k.addr, 20);
	unlink(path);
	eth_key_wipe(&k);
	buf_release(&out);
}

START_TEST(test_register_vs_cast)
{
	static const struct {
		const char *owner;
		uint64_t cap;
		uint8_t env;
		uint64_t ts;
	} cases[] = {
		{ "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 20, 1, 1700000000 },
		{ "0x0000000000000000000000000000000000000000", 0, 0, 0 },
		{ "0xffffffffffffffffffffffffffffffffffffffff", UINT64_MAX, 255, UINT64_MAX },
	};
	unsigned char owner[20], digest[32];
	struct buf json = BUF_INIT;
	size_t i;

	if (!have_cast())
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		addr_of(cases[i].owner, owner);
		eth_eip712_register_digest(owner, cases[i].cap, cases[i].env,
					   cases[i].ts, digest);
		buf_reset(&json);
		buf_addf(&json,
			 "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},"
			 "{\"name\":\"version\",\"type\":\"string\"}],"
			 "\"Register\":[{\"name\":\"owner\",\"type\":\"address\"},"
			 "{\"name\":\"jobCapacity\",\"type\":\"uint256\"},"
			 "{\"name\":\"env\",\"type\":\"uint8\"},"
			 "{\"name\":\"signTimestamp\",\"type\":\"uint256\"}]},"
			 "\"primaryType\":\"Register\","
			 "\"domain\":{\"name\":\"marlin.oyster.Executors\",\"version\":\"1\"},"
			 "\"message\":{\"owner\":\"%s\",\"jobCapacity\":\"%llu\",\"env\":%u,"
			 "\"signTimestamp\":\"%llu\"}}",
			 cases[i].owner, (unsigned long long)cases[i].cap, cases[i].env,
			 (unsigned long long)cases[i].ts);
		check_with_cast(json.data, digest);
	}
	buf_release(&json);
}
END_TEST

START_TEST(test_submit_output_vs_cast)
{
	static const size_t sizes[] = { 0, 5, 20480 };
	unsigned char *output, digest[32];
	struct buf json = BUF_INIT, ohex = BUF_INIT;
	struct eth_u256 job;
	char dec[ETH_U256_DEC_SIZE];
	size_t i, j;

	if (!have_cast())
		return;
	output = malloc(20480);
	ck_assert_ptr_nonnull(output);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizes[i]; j++)
			output[j] = (unsigned char)(j * 31 + i);
		eth_u256_from_u64(&job, 1000 + i);
		if (i == 2) /* above 2^64 */
			job.b[3] = 0x5a;
		eth_eip712_submit_output_digest(&job, output, sizes[i], 1234 + i,
						(uint8_t)i, 1700000000 + i, digest);
		buf_reset(&ohex);
		eth_hex_encode(&ohex, output, sizes[i], 1);
		buf_reset(&json);
		buf_addf(&json,
			 "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},"
			 "{\"name\":\"version\",\"type\":\"string\"}],"
			 "\"SubmitOutput\":[{\"name\":\"jobId\",\"type\":\"uint256\"},"
			 "{\"name\":\"output\",\"type\":\"bytes\"},"
			 "{\"name\":\"totalTime\",\"type\":\"uint256\"},"
			 "{\"name\":\"errorCode\",\"type\":\"uint8\"},"
			 "{\"name\":\"signTimestamp\",\"type\":\"uint256\"}]},"
			 "\"primaryType\":\"SubmitOutput\","
			 "\"domain\":{\"name\":\"marlin.oyster.Jobs\",\"version\":\"1\"},"
			 "\"message\":{\"jobId\":\"%s\",\"output\":\"%s\",\"totalTime\":%zu,"
			 "\"errorCode\":%zu,\"signTimestamp\":%zu}}",
			 eth_u256_to_dec(&job, dec), ohex.data, 1234 + i, i,
			 (size_t)1700000000 + i);
		check_with_cast(json.data, digest);
	}
	free(output);
	buf_release(&json);
	buf_release(&ohex);
}
END_TEST

static Suite *eip712_suite(void)
{
	Suite *s = suite_create("eth_eip712");
	TCase *tc = tcase_create("vectors");
	TCase *tx = tcase_create("cast");

	tcase_add_test(tc, test_oyster_domains);
	tcase_add_test(tc, test_eip712_mail_example);
	tcase_add_test(tc, test_struct_hashes_via_abi);
	tcase_set_timeout(tx, 120);
	tcase_add_test(tx, test_register_vs_cast);
	tcase_add_test(tx, test_submit_output_vs_cast);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tx);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(eip712_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
