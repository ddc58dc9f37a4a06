/*
 * RLP builder and strict zero-copy decoder; see eth_rlp.h.
 */
#include "eth/eth_rlp.h"

#include <string.h>

#include "eth/eth_hex.h"
#include "log.h"
#include "banned.h"

/* ---- encoder ---- */

void eth_rlp_enc_init(struct eth_rlp_enc *e, struct buf *out)
{
	e->out = out;
	e->depth = 0;
	e->failed = NULL;
}

static int enc_fail(struct eth_rlp_enc *e, const char *why)
{
	if (!e->failed)
		e->failed = why;
	return -1;
}

/* Big-endian bytes of n without leading zeros into b[8]; returns count. */
static size_t be_len(uint64_t n, unsigned char b[8])
{
	size_t k = 0, i;
	unsigned char t[8];

	while (n) {
		t[k++] = (unsigned char)n;
		n >>= 8;
	}
	for (i = 0; i < k; i++)
		b[i] = t[k - 1 - i];
	return k;
}

/* Header for a payload of len bytes: short base 0x80/0xc0. */
static size_t header(unsigned char base, size_t len, unsigned char h[9])
{
	size_t k;

	if (len < 56) {
		h[0] = (unsigned char)(base + len);
		return 1;
	}
	k = be_len((uint64_t)len, h + 1);
	h[0] = (unsigned char)(base + 55 + k);
	return 1 + k;
}

int eth_rlp_add_bytes(struct eth_rlp_enc *e, const void *p, size_t n)
{
	unsigned char h[9];
	size_t hl;

	if (e->failed)
		return -1;
	if (n == 1 && *(const unsigned char *)p < 0x80)
		hl = 0;
	else
		hl = header(0x80, n, h);
	if (buf_add(e->out, h, hl) < 0 || buf_add(e->out, p, n) < 0)
		return enc_fail(e, "out of memory");
	return 0;
}

int eth_rlp_add_str(struct eth_rlp_enc *e, const char *s)
{
	return eth_rlp_add_bytes(e, s, strlen(s));
}

int eth_rlp_add_uint_be(struct eth_rlp_enc *e, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n && !*b) {
		b++;
		n--;
	}
	return eth_rlp_add_bytes(e, b, n);
}

int eth_rlp_add_u64(struct eth_rlp_enc *e, uint64_t v)
{
	unsigned char b[8];
	size_t k = be_len(v, b);

	return eth_rlp_add_bytes(e, b, k);
}

int eth_rlp_add_u256(struct eth_rlp_enc *e, const struct eth_u256 *v)
{
	return eth_rlp_add_uint_be(e, v->b, 32);
}

int eth_rlp_add_raw(struct eth_rlp_enc *e, const void *p, size_t n)
{
	if (e->failed)
		return -1;
	if (buf_add(e->out, p, n) < 0)
		return enc_fail(e, "out of memory");
	return 0;
}

int eth_rlp_list_begin(struct eth_rlp_enc *e)
{
	if (e->failed)
		return -1;
	if (e->depth >= ETH_RLP_MAX_DEPTH)
		return enc_fail(e, "lists nested too deeply");
	e->start[e->depth++] = e->out->len;
	return 0;
}

int eth_rlp_list_end(struct eth_rlp_enc *e)
{
	unsigned char h[9];
	size_t start, len, hl;
	struct buf *b = e->out;

	if (e->failed)
		return -1;
	if (e->depth == 0)
		return enc_fail(e, "list end without a list begin");
	start = e->start[--e->depth];
	len = b->len - start;
	hl = header(0xc0, len, h);
	if (buf_grow(b, hl) < 0)
		return enc_fail(e, "out of memory");
	memmove(b->data + start + hl, b->data + start, len);
	memcpy(b->data + start, h, hl);
	b->len += hl;
	b->data[b->len] = '\0';
	return 0;
}

int eth_rlp_enc_finish(struct eth_rlp_enc *e)
{
	if (e->failed)
		return log_err("rlp: encoding failed: %s", e->failed);
	if (e->depth)
		return log_err("rlp: %d list(s) left open", e->depth);
	return 0;
}

/* ---- decoder ---- */

/*
 * Parse the header of the item at p (left bytes available): fill it and
 * *used (header + payload size).  All canonical-form checks live here.
 */
static int parse_one(const unsigned char *p, size_t left,
		     struct eth_rlp_item *it, size_t *used, struct buf *err)
{
	unsigned char b;
	size_t hl, len, i, lenlen;

	if (!left)
		return eth_errf(err, "rlp: empty input where an item was expected");
	b = p[0];
	if (b < 0x80) {
		it->is_list = 0;
		it->p = p;
		it->len = 1;
		*used = 1;
		return 0;
	}
	it->is_list = b >= 0xc0;
	if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
		hl = 1;
		len = (size_t)(b - (it->is_list ? 0xc0 : 0x80));
	} else {
		lenlen = (size_t)(b - (it->is_list ? 0xf7 : 0xb7));
		if (lenlen > left - 1)
			return eth_errf(err, "rlp: truncated length");
		if (p[1] == 0)
			return eth_errf(err, "rlp: non-canonical length with a leading zero byte");
		if (lenlen > sizeof(size_t))
			return eth_errf(err, "rlp: length does not fit in memory");
		len = 0;
		for (i = 0; i < lenlen; i++)
			len = len << 8 | p[1 + i];
		if (len < 56)
			return eth_errf(err, "rlp: non-canonical long form for a %zu-byte payload",
					len);
		hl = 1 + lenlen;
	}
	if (len > left - hl)
		return eth_errf(err, "rlp: item of %zu bytes overruns its %zu available bytes",
				len, left - hl);
	if (!it->is_list && hl == 1 && len == 1 && p[1] < 0x80)
		return eth_errf(err, "rlp: non-canonical single byte 0x%02x encoded as a string",
				p[1]);
	it->p = p + hl;
	it->len = len;
	*used = hl + len;
	return 0;
}

static int validate(const struct eth_rlp_item *list, int depth,
		    struct buf *err)
{
	const unsigned char *p = list->p;
	size_t left = list->len, used;
	struct eth_rlp_item it;

	if (depth > ETH_RLP_MAX_DEPTH)
		return eth_errf(err, "rlp: lists nested deeper than %d",
				ETH_RLP_MAX_DEPTH);
	while (left) {
		if (parse_one(p, left, &it, &used, err) < 0)
			return -1;
		if (it.is_list && validate(&it, depth + 1, err) < 0)
			return -1;
		p += used;
		left -= used;
	}
	return 0;
}

int eth_rlp_decode(const void *data, size_t len, struct eth_rlp_item *item,
		   struct buf *err)
{
	size_t used;

	if (parse_one(data, len, item, &used, err) < 0)
		return -1;
	if (used != len)
		return eth_errf(err, "rlp: %zu trailing bytes after the item",
				len - used);
	if (item->is_list && validate(item, 1, err) < 0)
		return -1;
	return 0;
}

int eth_rlp_iter_init(struct eth_rlp_iter *it, const struct eth_rlp_item *list)
{
	if (!list->is_list)
		return -1;
	it->p = list->p;
	it->left = list->len;
	return 0;
}

int eth_rlp_iter_next(struct eth_rlp_iter *it, struct eth_rlp_item *item)
{
	struct buf sink = BUF_INIT;
	size_t used;
	int r;

	if (!it->left)
		return 0;
	/* validated input never fails here; a sink keeps it quiet if it does */
	r = parse_one(it->p, it->left, item, &used, &sink);
	buf_release(&sink);
	if (r < 0)
		return -1;
	it->p += used;
	it->left -= used;
	return 1;
}

size_t eth_rlp_list_count(const struct eth_rlp_item *list)
{
	struct eth_rlp_iter it;
	struct eth_rlp_item item;
	size_t n = 0;

	if (eth_rlp_iter_init(&it, list) < 0)
		return 0;
	while (eth_rlp_iter_next(&it, &item) == 1)
		n++;
	return n;
}

static int get_uint(const struct eth_rlp_item *it, size_t max,
		    struct buf *err)
{
	if (it->is_list)
		return eth_errf(err, "rlp: expected an integer, found a list");
	if (it->len && it->p[0] == 0)
		return eth_errf(err, "rlp: integer with a leading zero byte");
	if (it->len > max)
		return eth_errf(err, "rlp: integer of %zu bytes exceeds %zu",
				it->len, max);
	return 0;
}

int eth_rlp_get_u64(const struct eth_rlp_item *it, uint64_t *v,
		    struct buf *err)
{
	uint64_t r = 0;
	size_t i;

	if (get_uint(it, 8, err) < 0)
		return -1;
	for (i = 0; i < it->len; i++)
		r = r << 8 | it->p[i];
	*v = r;
	return 0;
}

int eth_rlp_get_u256(const struct eth_rlp_item *it, struct eth_u256 *v,
		     struct buf *err)
{
	if (get_uint(it, 32, err) < 0)
		return -1;
	return eth_u256_from_be(v, it->p, it->len);
}

int eth_rlp_get_fixed(const struct eth_rlp_item *it, void *out, size_t n,
		      struct buf *err)
{
	if (it->is_list)
		return eth_errf(err, "rlp: expected a %zu-byte string, found a list", n);
	if (it->len != n)
		return eth_errf(err, "rlp: expected a %zu-byte string, found %zu bytes",
				n, it->len);
	if (n)
		memcpy(out, it->p, n);
	return 0;
}
