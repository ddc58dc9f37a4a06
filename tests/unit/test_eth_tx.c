/*
 * Tests for common/eth/eth_tx.c: EIP-1559 transactions.
 *
 * Vectors: transactions signed with anvil's first default key
 * (0xac0974be..., address 0xf39fd6e5...) must be byte-identical to
 * `cast mktx` with the same fields (RFC 6979 signatures are
 * deterministic): a 1 ETH transfer (fixed hex and hash, also asserted
 * without cast), a contract creation, calldata, large fees and nonces.
 * `cast decode-transaction` must read back our fields and our sender.
 *
 * The real thing: an anvil started here on a free loopback port accepts
 * and mines our signed transfer and contract creation (`cast publish`,
 * receipt status 0x1, recipient balance, contract code answering 42),
 * and rejects a replay of the same nonce.  anvil is fork/exec'd by the
 * fixture, its pid recorded, and killed in teardown (and by
 * PR_SET_PDEATHSIG if this process dies first).
 *
 * Decoder strictness: wrong type byte, field count, non-canonical
 * integers, yParity 2, a malleated high-s signature, a non-empty access
 * list, a 19-byte "to", data as a list, trailing bytes, every truncation.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/eth_rlp.h"
#include "eth/eth_tx.h"
#include "eth/keccak.h"
#include "banned.h"

#define ANVIL0_SECRET "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL0_ADDR "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define ANVIL1_ADDR "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
#define CHAIN_ID 31337
/* init code: returns a runtime that answers every call with 42 */
#define INIT_CODE "600a600c600039600a6000f3602a60005260206000f3"
#define GWEI 1000000000ULL

/* ---- helpers ---- */

static struct eth_key anvil_key(void)
{
	struct eth_key k;

	ck_assert_int_eq(eth_key_from_hex(&k, ANVIL0_SECRET, strlen(ANVIL0_SECRET), NULL), 0);
	return k;
}

static void base_tx(struct eth_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->chain_id = CHAIN_ID;
	eth_u256_from_u64(&tx->max_priority_fee_per_gas, GWEI);
	eth_u256_from_u64(&tx->max_fee_per_gas, 10 * GWEI);
	tx->gas_limit = 21000;
	tx->has_to = 1;
	ck_assert_int_eq(eth_address_parse(ANVIL1_ADDR, strlen(ANVIL1_ADDR), tx->to, NULL), 0);
	eth_u256_from_u64(&tx->value, 1000000000000000000ULL);
}

static void hexs(struct buf *out, const void *p, size_t n)
{
	buf_reset(out);
	eth_hex_encode(out, p, n, 1);
}

static const char *tool_path(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p && *p ? p : def;
}

static const char *cast_path(void)
{
	return tool_path("OYSTER_CAST", "node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
}

static const char *anvil_path(void)
{
	return tool_path("OYSTER_ANVIL", "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
}

static int have(const char *path)
{
	if (access(path, X_OK) == 0)
		return 1;
	fprintf(stderr, "SKIP: %s not found (set OYSTER_CAST / OYSTER_ANVIL)\n", path);
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

/* cast prints decode-transaction as a JSON string holding JSON: unwrap. */
static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	ck_assert_msg(j != NULL, "bad JSON from cast: %s (%s)", e.text, text);
	if (json_is_string(j)) {
		json_t *inner = json_loads(json_string_value(j), 0, &e);

		json_decref(j);
		ck_assert_msg(inner != NULL, "bad inner JSON: %s", e.text);
		j = inner;
	}
	return j;
}

static void json_field_eq(json_t *j, const char *key, const char *want)
{
	json_t *v = json_object_get(j, key);
	char *lower;
	size_t i;

	ck_assert_msg(v != NULL, "no field %s", key);
	if (json_is_null(v)) {
		ck_assert_msg(want == NULL, "%s is null, want %s", key, want);
		return;
	}
	ck_assert_msg(json_is_string(v), "field %s not a string", key);
	ck_assert_msg(want != NULL, "%s is %s, want null", key, json_string_value(v));
	lower = strdup(json_string_value(v));
	ck_assert_ptr_nonnull(lower);
	for (i = 0; lower[i]; i++)
		if (lower[i] >= 'A' && lower[i] <= 'F')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	/* compare before freeing; a failed assertion may leak in no-fork mode */
	i = strcmp(lower, want) == 0;
	if (!i)
		fprintf(stderr, "field %s: got %s want %s\n", key, lower, want);
	free(lower);
	ck_assert_msg(i, "field %s differs", key);
}

static void quantity_eq(json_t *j, const char *key, const struct eth_u256 *v)
{
	char q[ETH_U256_HEX_SIZE];

	json_field_eq(j, key, eth_u256_to_quantity(v, q));
}

static void quantity64_eq(json_t *j, const char *key, uint64_t v)
{
	struct eth_u256 x;

	eth_u256_from_u64(&x, v);
	quantity_eq(j, key, &x);
}

/* Fields of a decoded tx equal the original. */
static void assert_same_tx(const struct eth_tx *a, const struct eth_tx *b)
{
	ck_assert_uint_eq(a->chain_id, b->chain_id);
	ck_assert_uint_eq(a->nonce, b->nonce);
	ck_assert_int_eq(eth_u256_cmp(&a->max_priority_fee_per_gas,
				      &b->max_priority_fee_per_gas), 0);
	ck_assert_int_eq(eth_u256_cmp(&a->max_fee_per_gas, &b->max_fee_per_gas), 0);
	ck_assert_uint_eq(a->gas_limit, b->gas_limit);
	ck_assert_int_eq(a->has_to, b->has_to);
	if (a->has_to)
		ck_assert_mem_eq(a->to, b->to, 20);
	ck_assert_int_eq(eth_u256_cmp(&a->value, &b->value), 0);
	ck_assert_uint_eq(a->data_len, b->data_len);
	ck_assert(a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}

/* ---- static vector ---- */

START_TEST(test_known_transfer)
{
	struct eth_key k = anvil_key();
	struct eth_tx tx, back;
	struct buf raw = BUF_INIT, h = BUF_INIT;
	unsigned char hash[32], from[20];
	char a[ETH_ADDR_HEX_SIZE];

	base_tx(&tx);
	buf_addstr(&raw, "kept");
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, hash), 0);
	/* appended after existing content */
	ck_assert_mem_eq(raw.data, "kept", 4);
	hexs(&h, raw.data + 4, raw.len - 4);
	/* identical to `cast mktx` for these fields */
	ck_assert_str_eq(h.data,
			 "0x02f875827a6980843b9aca008502540be4008252089470997970c51812dc3a010c7d01b50e"
			 "0d17dc79c8880de0b6b3a764000080c001a048cda9b9ed57e2668fd7094c2a170579df4465bf"
			 "91f4aec0cc8ac00c046c7a6da05c84c2fc4b7c73b3b226845f2c6f6ede269ccdc474779d11a3"
			 "0202b85f9b4f2a");
	hexs(&h, hash, 32);
	ck_assert_str_eq(h.data, "0x6cd803046b4bed6e5b096ab4d292440d9ca2e7187a12195222d9681122dcd367");

	ck_assert_int_eq(eth_tx_decode(raw.data + 4, raw.len - 4, &back, from, NULL), 0);
	assert_same_tx(&tx, &back);
	ck_assert_str_eq(eth_address_hex(from, a), ANVIL0_ADDR);
	eth_key_wipe(&k);
	buf_release(&raw);
	buf_release(&h);
}
END_TEST

START_TEST(test_sign_refusals)
{
	struct eth_key k = anvil_key();
	struct eth_tx tx;
	struct buf raw = BUF_INIT;

	base_tx(&tx);
	eth_u256_from_u64(&tx.max_priority_fee_per_gas, 11 * GWEI);
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, NULL), -1);
	ck_assert_uint_eq(raw.len, 0);
	base_tx(&tx);
	tx.data_len = 5; /* without data */
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, NULL), -1);
	ck_assert_uint_eq(raw.len, 0);
	eth_key_wipe(&k);
	buf_release(&raw);
}
END_TEST

/* ---- cast mktx / decode-transaction ---- */

static void check_against_cast(const struct eth_tx *tx)
{
	struct eth_key k = anvil_key();
	struct buf raw = BUF_INIT, ours = BUF_INIT, out = BUF_INIT, cmd = BUF_INIT,
		   data = BUF_INIT;
	unsigned char hash[32];
	char dec[ETH_U256_DEC_SIZE], dec2[ETH_U256_DEC_SIZE], dec3[ETH_U256_DEC_SIZE],
	     to[ETH_ADDR_HEX_SIZE];
	json_t *j;

	ck_assert_int_eq(eth_tx_sign(tx, &k, &raw, hash), 0);
	hexs(&ours, raw.data, raw.len);
	hexs(&data, tx->data, tx->data_len);

	/* cast mktx [--create CODE | TO 0xDATA] */
	buf_addf(&cmd, "%s mktx --private-key %s --chain %llu --nonce %llu --gas-limit %llu "
		 "--gas-price %s --priority-gas-price %s --value %s",
		 cast_path(), ANVIL0_SECRET, (unsigned long long)tx->chain_id,
		 (unsigned long long)tx->nonce, (unsigned long long)tx->gas_limit,
		 eth_u256_to_dec(&tx->max_fee_per_gas, dec),
		 eth_u256_to_dec(&tx->max_priority_fee_per_gas, dec2),
		 eth_u256_to_dec(&tx->value, dec3));
	if (tx->has_to)
		buf_addf(&cmd, " %s %s", eth_address_hex(tx->to, to),
			 tx->data_len ? data.data : "");
	else
		buf_addf(&cmd, " --create %s", data.data);
	ck_assert_int_eq(run(&out, "%s", cmd.data), 0);
	ck_assert_str_eq(out.data, ours.data);

	ck_assert_int_eq(run(&out, "%s decode-transaction %s", cast_path(), ours.data), 0);
	j = parse_json(out.data);
	json_field_eq(j, "signer", ANVIL0_ADDR);
	json_field_eq(j, "type", "0x2");
	quantity64_eq(j, "chainId", tx->chain_id);
	quantity64_eq(j, "nonce", tx->nonce);
	quantity64_eq(j, "gas", tx->gas_limit);
	quantity_eq(j, "maxFeePerGas", &tx->max_fee_per_gas);
	quantity_eq(j, "maxPriorityFeePerGas", &tx->max_priority_fee_per_gas);
	json_field_eq(j, "to", tx->has_to ? eth_address_hex(tx->to, to) : NULL);
	quantity_eq(j, "value", &tx->value);
	json_field_eq(j, "input", data.data);
	hexs(&out, hash, 32);
	json_field_eq(j, "hash", out.data);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "accessList")), 0);
	json_decref(j);

	eth_key_wipe(&k);
	buf_release(&raw);
	buf_release(&ours);
	buf_release(&out);
	buf_release(&cmd);
	buf_release(&data);
}

START_TEST(test_vs_cast)
{
	static const unsigned char calldata[] = {
		0xa9, 0x05, 0x9c, 0xbb, 0x00, 0x01, 0x02, 0x03, 0xff,
	};
	struct eth_tx tx;
	struct buf code = BUF_INIT, big = BUF_INIT;
	int i;

	if (!have(cast_path()))
		return;
	base_tx(&tx);
	check_against_cast(&tx);

	/* calldata, zero value, other chain, large nonce */
	base_tx(&tx);
	tx.data = calldata;
	tx.data_len = sizeof(calldata);
	eth_u256_zero(&tx.value);
	tx.chain_id = 1;
	tx.nonce = 4294967296ULL + 5;
	tx.gas_limit = 1000000;
	check_against_cast(&tx);

	/* contract creation */
	base_tx(&tx);
	ck_assert_int_eq(eth_hex_decode_buf(INIT_CODE, strlen(INIT_CODE), &code, 64, NULL), 0);
	tx.has_to = 0;
	tx.data = (const unsigned char *)code.data;
	tx.data_len = code.len;
	eth_u256_zero(&tx.value);
	tx.gas_limit = 100000;
	check_against_cast(&tx);

	/* fees above 2^64 wei, a 1000-byte payload (long RLP lengths), nonce 0 vs 127/128 */
	base_tx(&tx);
	ck_assert_int_eq(eth_u256_from_dec(&tx.max_fee_per_gas, "100000000000000000000000", 24, NULL), 0);
	ck_assert_int_eq(eth_u256_from_dec(&tx.max_priority_fee_per_gas, "20000000000000000000", 20, NULL), 0);
	for (i = 0; i < 1000; i++)
		buf_addch(&big, (char)(i * 7));
	tx.data = (const unsigned char *)big.data;
	tx.data_len = big.len;
	tx.nonce = 128;
	check_against_cast(&tx);
	tx.nonce = 127;
	tx.data_len = 55;
	check_against_cast(&tx);
	buf_release(&code);
	buf_release(&big);
}
END_TEST

/* ---- decoder strictness ---- */

static const unsigned char order[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

enum mutation {
	M_NONE, M_NONCE_ZERO_PREFIX, M_ELEVEN, M_THIRTEEN, M_Y2, M_HIGH_S,
	M_ACCESS_LIST, M_TO19, M_DATA_LIST, M_TYPE1, M_TRAILING, M_COUNT
};

/* Hand-build the signed encoding of tx with one field broken. */
static void build(const struct eth_tx *tx, const unsigned char sig[65],
		  enum mutation m, struct buf *out)
{
	struct eth_rlp_enc e;
	struct eth_u256 s, n;
	unsigned char y = (unsigned char)(sig[64] - 27);

	buf_reset(out);
	buf_addch(out, m == M_TYPE1 ? 0x01 : 0x02);
	eth_rlp_enc_init(&e, out);
	eth_rlp_list_begin(&e);
	eth_rlp_add_u64(&e, tx->chain_id);
	if (m == M_NONCE_ZERO_PREFIX)
		eth_rlp_add_bytes(&e, "\x00\x05", 2);
	else
		eth_rlp_add_u64(&e, tx->nonce);
	eth_rlp_add_u256(&e, &tx->max_priority_fee_per_gas);
	eth_rlp_add_u256(&e, &tx->max_fee_per_gas);
	eth_rlp_add_u64(&e, tx->gas_limit);
	eth_rlp_add_bytes(&e, tx->to, m == M_TO19 ? 19 : 20);
	eth_rlp_add_u256(&e, &tx->value);
	if (m == M_DATA_LIST) {
		eth_rlp_list_begin(&e);
		eth_rlp_list_end(&e);
	} else {
		eth_rlp_add_bytes(&e, tx->data, tx->data_len);
	}
	eth_rlp_list_begin(&e);
	if (m == M_ACCESS_LIST) {
		eth_rlp_list_begin(&e);
		eth_rlp_add_bytes(&e, tx->to, 20);
		eth_rlp_list_begin(&e);
		eth_rlp_list_end(&e);
		eth_rlp_list_end(&e);
	}
	eth_rlp_list_end(&e);
	memcpy(s.b, sig + 32, 32);
	if (m == M_HIGH_S) {
		/* (r, n - s, !y) is the same signature's malleated twin */
		memcpy(n.b, order, 32);
		ck_assert_int_eq(eth_u256_sub(&s, &n, &s), 0);
		y ^= 1;
	}
	eth_rlp_add_u64(&e, m == M_Y2 ? 2 : y);
	eth_rlp_add_uint_be(&e, sig, 32);
	if (m != M_ELEVEN)
		eth_rlp_add_u256(&e, &s);
	if (m == M_THIRTEEN)
		eth_rlp_add_u64(&e, 0);
	eth_rlp_list_end(&e);
	ck_assert_int_eq(eth_rlp_enc_finish(&e), 0);
	if (m == M_TRAILING)
		buf_addch(out, 0);
}

START_TEST(test_decode_rejects)
{
	static const char *const why[M_COUNT] = {
		[M_NONCE_ZERO_PREFIX] = "field nonce: rlp: integer with a leading zero byte",
		[M_ELEVEN] = "expected 12 fields, found 11",
		[M_THIRTEEN] = "expected 12 fields, found 13",
		[M_Y2] = "yParity 2 is not 0 or 1",
		[M_HIGH_S] = "upper half",
		[M_ACCESS_LIST] = "non-empty access lists are not supported",
		[M_TO19] = "field to must be 20 bytes or empty",
		[M_DATA_LIST] = "field data is a list",
		[M_TYPE1] = "not an EIP-1559",
		[M_TRAILING] = "trailing bytes",
	};
	struct eth_key k = anvil_key();
	struct eth_tx tx, back;
	struct buf raw = BUF_INIT, mine = BUF_INIT, err = BUF_INIT;
	unsigned char h[32], sig[65], from[20];
	int m;

	base_tx(&tx);
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, NULL), 0);
	ck_assert_int_eq(eth_tx_signing_hash(&tx, h), 0);
	ck_assert_int_eq(eth_sign_digest(&k, h, sig), 0);
	/* the hand builder without mutation reproduces eth_tx_sign */
	build(&tx, sig, M_NONE, &mine);
	ck_assert_uint_eq(mine.len, raw.len);
	ck_assert_mem_eq(mine.data, raw.data, raw.len);

	for (m = M_NONCE_ZERO_PREFIX; m < M_COUNT; m++) {
		build(&tx, sig, (enum mutation)m, &mine);
		buf_reset(&err);
		ck_assert_msg(eth_tx_decode(mine.data, mine.len, &back, from, &err) == -1,
			      "mutation %d accepted", m);
		ck_assert_msg(strstr(buf_cstr(&err), why[m]) != NULL,
			      "mutation %d: \"%s\" lacks \"%s\"", m, buf_cstr(&err), why[m]);
	}
	/* a flipped bit in r or s recovers someone else (or nothing) */
	memcpy(mine.data, raw.data, raw.len);
	mine.len = raw.len;
	mine.data[raw.len - 1] ^= 1;
	if (eth_tx_decode(mine.data, mine.len, &back, from, NULL) == 0)
		ck_assert_mem_ne(from, k.addr, 20);
	/* and a changed field too: the signature covers everything */
	build(&tx, sig, M_NONE, &mine);
	tx.nonce = 1;
	{
		struct buf other = BUF_INIT;

		build(&tx, sig, M_NONE, &other);
		ck_assert_int_eq(eth_tx_decode(other.data, other.len, &back, from, NULL), 0);
		ck_assert_mem_ne(from, k.addr, 20);
		buf_release(&other);
	}
	/* every truncation */
	for (size_t cut = 0; cut < raw.len; cut++) {
		unsigned char *p = malloc(cut ? cut : 1);

		memcpy(p, raw.data, cut);
		ck_assert_int_eq(eth_tx_decode(p, cut, &back, NULL, &err), -1);
		free(p);
	}
	eth_key_wipe(&k);
	buf_release(&raw);
	buf_release(&mine);
	buf_release(&err);
}
END_TEST

/* ---- anvil ---- */

static pid_t anvil_pid = -1;
static int anvil_port;
static char rpc_url[64];

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int port_open(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

static void anvil_stop(void)
{
	int st, i;

	if (anvil_pid <= 0)
		return;
	kill(anvil_pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(anvil_pid, &st, WNOHANG) == anvil_pid)
			break;
		usleep(100000);
	}
	if (i == 50) {
		kill(anvil_pid, SIGKILL);
		waitpid(anvil_pid, &st, 0);
	}
	anvil_pid = -1;
}

static void anvil_setup(void)
{
	char port[16];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	if (access(anvil_path(), X_OK) != 0 || access(cast_path(), X_OK) != 0)
		return; /* the test reports the skip */
	anvil_port = free_port();
	snprintf(port, sizeof(port), "%d", anvil_port);
	snprintf(rpc_url, sizeof(rpc_url), "http://127.0.0.1:%d", anvil_port);
	anvil_pid = fork();
	ck_assert_int_ge(anvil_pid, 0);
	if (anvil_pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* never outlive the test process */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(anvil_path(), "anvil", "--host", "127.0.0.1", "--port", port,
		      "--chain-id", "31337", "--silent", (char *)NULL);
		_exit(127);
	}
	/* up to 20 s for the RPC port */
	for (i = 0; i < 400 && !port_open(anvil_port); i++)
		nanosleep(&ts, NULL);
	if (!port_open(anvil_port)) {
		anvil_stop();
		ck_abort_msg("anvil did not open port %d", anvil_port);
	}
}

static void anvil_teardown(void)
{
	anvil_stop();
}

/* Publish raw, expect a mined receipt with status 0x1 and our hash. */
static json_t *publish(const struct buf *raw, const unsigned char hash[32])
{
	struct buf out = BUF_INIT, hx = BUF_INIT;
	json_t *r;

	hexs(&hx, raw->data, raw->len);
	ck_assert_int_eq(run(&out, "timeout 60 %s publish --rpc-url %s %s", cast_path(),
			     rpc_url, hx.data), 0);
	r = parse_json(out.data);
	json_field_eq(r, "status", "0x1");
	hexs(&hx, hash, 32);
	json_field_eq(r, "transactionHash", hx.data);
	json_field_eq(r, "from", ANVIL0_ADDR);
	/* the node agrees when asked again */
	ck_assert_int_eq(run(&out, "timeout 30 %s receipt --json --rpc-url %s %s",
			     cast_path(), rpc_url, hx.data), 0);
	{
		json_t *again = parse_json(out.data);

		json_field_eq(again, "status", "0x1");
		json_decref(again);
	}
	buf_release(&out);
	buf_release(&hx);
	return r;
}

START_TEST(test_anvil_mines_our_transactions)
{
	struct eth_key k = anvil_key();
	struct eth_tx tx;
	struct buf raw = BUF_INIT, out = BUF_INIT, code = BUF_INIT, hx = BUF_INIT;
	unsigned char hash[32];
	json_t *r;

	if (!have(anvil_path()) || !have(cast_path()))
		return;
	ck_assert_int_gt(anvil_pid, 0);
	ck_assert_int_eq(run(&out, "timeout 30 %s chain-id --rpc-url %s", cast_path(), rpc_url), 0);
	ck_assert_str_eq(out.data, "31337");
	ck_assert_int_eq(run(&out, "timeout 30 %s nonce --rpc-url %s %s", cast_path(), rpc_url,
			     ANVIL0_ADDR), 0);
	ck_assert_str_eq(out.data, "0");

	/* 1 ETH to anvil's second account (starts with 10000 ETH) */
	base_tx(&tx);
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, hash), 0);
	r = publish(&raw, hash);
	json_field_eq(r, "to", ANVIL1_ADDR);
	json_decref(r);
	ck_assert_int_eq(run(&out, "timeout 30 %s balance --rpc-url %s %s", cast_path(), rpc_url,
			     ANVIL1_ADDR), 0);
	ck_assert_str_eq(out.data, "10001000000000000000000");

	/* the same nonce again: refused by the node */
	hexs(&hx, raw.data, raw.len);
	ck_assert_int_ne(run(&out, "timeout 60 %s publish --rpc-url %s %s 2>&1", cast_path(),
			     rpc_url, hx.data), 0);
	ck_assert_msg(strstr(out.data, "nonce too low") || strstr(out.data, "already"),
		      "unexpected replay error: %s", out.data);

	/* contract creation at nonce 1, bumped fees (x 1.1, rounded up) */
	base_tx(&tx);
	tx.nonce = 1;
	tx.has_to = 0;
	eth_u256_zero(&tx.value);
	tx.gas_limit = 100000;
	ck_assert_int_eq(eth_u256_muldiv_u64(&tx.max_fee_per_gas, &tx.max_fee_per_gas,
					     110, 100, 1), 0);
	ck_assert_int_eq(eth_u256_muldiv_u64(&tx.max_priority_fee_per_gas,
					     &tx.max_priority_fee_per_gas, 110, 100, 1), 0);
	ck_assert_int_eq(eth_hex_decode_buf(INIT_CODE, strlen(INIT_CODE), &code, 64, NULL), 0);
	tx.data = (const unsigned char *)code.data;
	tx.data_len = code.len;
	buf_reset(&raw);
	ck_assert_int_eq(eth_tx_sign(&tx, &k, &raw, hash), 0);
	r = publish(&raw, hash);
	/* CREATE address of (0xf39f..., nonce 1) */
	json_field_eq(r, "contractAddress", "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
	json_decref(r);
	ck_assert_int_eq(run(&out, "timeout 30 %s call --rpc-url %s 0xe7f1725e7734ce288f8367e1bb143e90bb3f0512 'f()'",
			     cast_path(), rpc_url), 0);
	ck_assert_str_eq(out.data, "0x000000000000000000000000000000000000000000000000000000000000002a");
	ck_assert_int_eq(run(&out, "timeout 30 %s nonce --rpc-url %s %s", cast_path(), rpc_url,
			     ANVIL0_ADDR), 0);
	ck_assert_str_eq(out.data, "2");

	eth_key_wipe(&k);
	buf_release(&raw);
	buf_release(&out);
	buf_release(&code);
	buf_release(&hx);
}
END_TEST

static Suite *tx_suite(void)
{
	Suite *s = suite_create("eth_tx");
	TCase *tc = tcase_create("offline");
	TCase *ta = tcase_create("anvil");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_known_transfer);
	tcase_add_test(tc, test_sign_refusals);
	tcase_add_test(tc, test_vs_cast);
	tcase_add_test(tc, test_decode_rejects);
	tcase_set_timeout(ta, 180);
	tcase_add_checked_fixture(ta, anvil_setup, anvil_teardown);
	tcase_add_test(ta, test_anvil_mines_our_transactions);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ta);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	anvil_stop();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
