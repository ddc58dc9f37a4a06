/*
 * Fuzz eth_rlp_decode (common/eth/eth_rlp.h): RLP from the outside world
 * (raw transactions fetched from a node).
 *
 * Checked besides memory safety:
 *   - canonical form means one encoding per value: rebuilding the decoded
 *     item tree with the encoder gives back exactly the input;
 *   - iteration over a validated list never fails and agrees with
 *     eth_rlp_list_count;
 *   - an integer accessor that succeeds returns the value whose canonical
 *     encoding is the item itself (eth_rlp_add_u64 / add_u256), and a
 *     fixed-size accessor copies exactly the payload.
 */
#include <string.h>

#include "eth/eth_rlp.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_string(const struct eth_rlp_item *it)
{
	struct buf a = BUF_INIT, b = BUF_INIT, err = BUF_INIT;
	struct eth_rlp_enc ea, eb;
	struct eth_u256 u;
	unsigned char fixed[32];
	uint64_t v;

	eth_rlp_enc_init(&ea, &a);
	FUZZ_CHECK(eth_rlp_add_bytes(&ea, it->p, it->len) == 0);
	if (eth_rlp_get_u64(it, &v, &err) == 0) {
		eth_rlp_enc_init(&eb, &b);
		FUZZ_CHECK(eth_rlp_add_u64(&eb, v) == 0);
		FUZZ_CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
		buf_reset(&b);
	}
	if (eth_rlp_get_u256(it, &u, &err) == 0) {
		eth_rlp_enc_init(&eb, &b);
		FUZZ_CHECK(eth_rlp_add_u256(&eb, &u) == 0);
		FUZZ_CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	}
	if (it->len <= sizeof(fixed)) {
		FUZZ_CHECK(eth_rlp_get_fixed(it, fixed, it->len, &err) == 0);
		FUZZ_CHECK(!it->len || !memcmp(fixed, it->p, it->len));
	}
	if (it->len >= 1 && it->len <= sizeof(fixed))
		FUZZ_CHECK(eth_rlp_get_fixed(it, fixed, it->len - 1, &err) < 0);
	buf_release(&a);
	buf_release(&b);
	buf_release(&err);
}

static void rebuild(struct eth_rlp_enc *e, const struct eth_rlp_item *it)
{
	struct eth_rlp_iter iter;
	struct eth_rlp_item child;
	size_t n = 0;
	int r;

	if (!it->is_list) {
		check_string(it);
		eth_rlp_add_bytes(e, it->p, it->len);
		return;
	}
	FUZZ_CHECK(eth_rlp_iter_init(&iter, it) == 0);
	eth_rlp_list_begin(e);
	while ((r = eth_rlp_iter_next(&iter, &child)) == 1) {
		FUZZ_CHECK(child.p >= it->p && child.len <= it->len &&
			   (size_t)(child.p - it->p) <= it->len - child.len);
		rebuild(e, &child);
		n++;
	}
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(n == eth_rlp_list_count(it));
	eth_rlp_list_end(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct eth_rlp_item item;
	struct eth_rlp_enc e;

	if (eth_rlp_decode(data, size, &item, &err) < 0) {
		FUZZ_CHECK(err.len > 0);
		goto done;
	}
	FUZZ_CHECK(item.p >= data && item.len <= size);
	eth_rlp_enc_init(&e, &out);
	rebuild(&e, &item);
	FUZZ_CHECK(eth_rlp_enc_finish(&e) == 0);
	FUZZ_CHECK(out.len == size && !memcmp(out.data, data, size));
done:
	buf_release(&err);
	buf_release(&out);
	return 0;
}
