/*
 * Solidity ABI codec; see eth_abi.h for the rules.
 *
 * Three parts: a type-string parser producing a small type tree (with
 * each type's "dynamic" flag and static size precomputed), an encoder that
 * walks type and value together writing heads and tails, and a decoder
 * that walks the type over untrusted bytes with explicit bounds and a
 * size budget.  Both directions treat a tuple, a fixed array T[k] and the
 * elements of T[] the same way ("a sequence of components with heads and
 * tails, offsets relative to the sequence start"), which is how the spec
 * defines them.
 */
#include "eth/eth_abi.h"

#include <stdlib.h>
#include <string.h>

#include "eth/eth_hex.h"
#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

/* ---- type strings ---- */

struct abi_type {
	enum eth_abi_kind kind;
	unsigned size;		/* bits of uint/int, bytes of bytesN */
	size_t fixed;		/* ARRAY: k of T[k], 0 for T[] */
	struct abi_type *elem;	/* ARRAY element */
	struct abi_type **comp;	/* TUPLE components */
	size_t ncomp;
	int dynamic;
	size_t ssize;		/* static size if !dynamic */
};

static void type_free(struct abi_type *t)
{
	size_t i;

	if (!t)
		return;
	type_free(t->elem);
	for (i = 0; i < t->ncomp; i++)
		type_free(t->comp[i]);
	free(t->comp);
	free(t);
}

/* Size in head position: 32 for dynamic types (the offset word). */
static size_t head_size(const struct abi_type *t)
{
	return t->dynamic ? 32 : t->ssize;
}

struct tparse {
	const char *s;
	size_t pos;
	struct buf *err;
};

static int tp_fail(struct tparse *tp, const char *what)
{
	return eth_errf(tp->err, "abi: bad type string \"%s\" at offset %zu: %s",
			tp->s, tp->pos, what);
}

/* Parse "uint256", "bytes" etc. from s[pos..] (letters and digits). */
static struct abi_type *parse_base(struct tparse *tp)
{
	const char *p = tp->s + tp->pos;
	size_t n = 0, nl = 0;
	unsigned num = 0;
	int has_num = 0;
	struct abi_type *t;
	char name[16];

	while ((p[nl] >= 'a' && p[nl] <= 'z'))
		nl++;
	n = nl;
	while (p[n] >= '0' && p[n] <= '9') {
		if (num > 1000 || (n == nl && p[n] == '0')) {
			tp_fail(tp, "bad type size");
			return NULL;
		}
		num = num * 10 + (unsigned)(p[n] - '0');
		has_num = 1;
		n++;
	}
	if (nl == 0 || nl >= sizeof(name)) {
		tp_fail(tp, "expected a type name");
		return NULL;
	}
	memcpy(name, p, nl);
	name[nl] = '\0';
	t = calloc(1, sizeof(*t));
	if (!t) {
		tp_fail(tp, "out of memory");
		return NULL;
	}
	t->ssize = 32;
	if (!strcmp(name, "uint") || !strcmp(name, "int")) {
		t->kind = name[0] == 'u' ? ETH_ABI_UINT : ETH_ABI_INT;
		t->size = has_num ? num : 256;
		if (t->size < 8 || t->size > 256 || t->size % 8)
			goto bad_size;
	} else if (!strcmp(name, "bytes")) {
		if (has_num) {
			t->kind = ETH_ABI_FBYTES;
			t->size = num;
			if (num < 1 || num > 32)
				goto bad_size;
		} else {
			t->kind = ETH_ABI_BYTES;
			t->dynamic = 1;
		}
	} else if (!has_num && !strcmp(name, "address")) {
		t->kind = ETH_ABI_ADDRESS;
	} else if (!has_num && !strcmp(name, "bool")) {
		t->kind = ETH_ABI_BOOL;
	} else if (!has_num && !strcmp(name, "string")) {
		t->kind = ETH_ABI_STRING;
		t->dynamic = 1;
	} else {
		free(t);
		tp_fail(tp, "unknown type");
		return NULL;
	}
	tp->pos += n;
	return t;
bad_size:
	free(t);
	tp_fail(tp, "bad type size");
	return NULL;
}

static struct abi_type *parse_type(struct tparse *tp, int depth);

static struct abi_type *parse_tuple(struct tparse *tp, int depth)
{
	struct abi_type *t = calloc(1, sizeof(*t));
	size_t cap = 0;

	if (!t) {
		tp_fail(tp, "out of memory");
		return NULL;
	}
	t->kind = ETH_ABI_TUPLE;
	tp->pos++; /* '(' */
	if (tp->s[tp->pos] == ')') {
		tp_fail(tp, "empty tuple");
		goto fail;
	}
	for (;;) {
		struct abi_type *c;

		if (t->ncomp == ETH_ABI_MAX_COMPONENTS) {
			tp_fail(tp, "too many tuple components");
			goto fail;
		}
		if (t->ncomp == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct abi_type **p = realloc(t->comp, nc * sizeof(*p));

			if (!p) {
				tp_fail(tp, "out of memory");
				goto fail;
			}
			t->comp = p;
			cap = nc;
		}
		c = parse_type(tp, depth + 1);
		if (!c)
			goto fail;
		t->comp[t->ncomp++] = c;
		if (c->dynamic)
			t->dynamic = 1;
		else if (t->ssize + c->ssize > ETH_ABI_MAX_STATIC) {
			tp_fail(tp, "static size too large");
			goto fail;
		} else {
			t->ssize += c->ssize;
		}
		if (tp->s[tp->pos] == ',') {
			tp->pos++;
			continue;
		}
		if (tp->s[tp->pos] == ')') {
			tp->pos++;
			break;
		}
		tp_fail(tp, "expected ',' or ')'");
		goto fail;
	}
	if (t->dynamic)
		t->ssize = 0;
	return t;
fail:
	type_free(t);
	return NULL;
}

static struct abi_type *parse_type(struct tparse *tp, int depth)
{
	struct abi_type *t;

	if (depth > ETH_ABI_MAX_DEPTH) {
		tp_fail(tp, "nested too deeply");
		return NULL;
	}
	if (tp->s[tp->pos] == '(')
		t = parse_tuple(tp, depth);
	else
		t = parse_base(tp);
	while (t && tp->s[tp->pos] == '[') {
		struct abi_type *a;
		size_t k = 0;

		if (++depth > ETH_ABI_MAX_DEPTH) {
			tp_fail(tp, "nested too deeply");
			goto fail;
		}
		tp->pos++;
		if (tp->s[tp->pos] == '0') {
			tp_fail(tp, "bad array size");
			goto fail;
		}
		while (tp->s[tp->pos] >= '0' && tp->s[tp->pos] <= '9') {
			k = k * 10 + (size_t)(tp->s[tp->pos++] - '0');
			if (k > ETH_ABI_MAX_FIXED_ARRAY) {
				tp_fail(tp, "fixed array too large");
				goto fail;
			}
		}
		if (tp->s[tp->pos] != ']') {
			tp_fail(tp, "expected ']'");
			goto fail;
		}
		tp->pos++;
		a = calloc(1, sizeof(*a));
		if (!a) {
			tp_fail(tp, "out of memory");
			goto fail;
		}
		a->kind = ETH_ABI_ARRAY;
		a->elem = t;
		a->fixed = k;
		t = a;
		if (!k || t->elem->dynamic) {
			t->dynamic = 1;
		} else if (t->elem->ssize > ETH_ABI_MAX_STATIC / k) {
			tp_fail(tp, "static size too large");
			goto fail;
		} else {
			t->ssize = t->elem->ssize * k;
		}
	}
	return t;
fail:
	type_free(t);
	return NULL;
}

static struct abi_type *type_parse(const char *s, struct buf *err)
{
	struct tparse tp = { s, 0, err };
	struct abi_type *t;

	/* no arguments: allowed only as the whole type */
	if (!strcmp(s, "()")) {
		t = calloc(1, sizeof(*t));
		if (!t)
			eth_errf(err, "abi: out of memory");
		else
			t->kind = ETH_ABI_TUPLE;
		return t;
	}
	t = parse_type(&tp, 1);
	if (t && s[tp.pos] != '\0') {
		tp_fail(&tp, "trailing characters");
		type_free(t);
		return NULL;
	}
	return t;
}

/* ---- values ---- */

struct eth_abi_val {
	enum eth_abi_kind kind;
	unsigned size;			/* FBYTES: byte count */
	unsigned char word[32];		/* word kinds */
	unsigned char *data;		/* BYTES/STRING, NUL-terminated */
	size_t len;
	struct eth_abi_val **items;	/* ARRAY/TUPLE */
	size_t n, cap;
	int broken;			/* an append failed */
};

static struct eth_abi_val *val_new(enum eth_abi_kind kind)
{
	struct eth_abi_val *v = calloc(1, sizeof(*v));

	if (v)
		v->kind = kind;
	return v;
}

void eth_abi_val_free(struct eth_abi_val *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++)
		eth_abi_val_free(v->items[i]);
	free(v->items);
	free(v->data);
	free(v);
}

struct eth_abi_val *eth_abi_val_uint_u64(uint64_t x)
{
	struct eth_abi_val *v = val_new(ETH_ABI_UINT);
	int i;

	if (v)
		for (i = 31; i >= 24; i--, x >>= 8)
			v->word[i] = (unsigned char)x;
	return v;
}

struct eth_abi_val *eth_abi_val_uint(const struct eth_u256 *x)
{
	struct eth_abi_val *v = val_new(ETH_ABI_UINT);

	if (v)
		memcpy(v->word, x->b, 32);
	return v;
}

struct eth_abi_val *eth_abi_val_int_i64(int64_t x)
{
	struct eth_abi_val *v = val_new(ETH_ABI_INT);
	uint64_t u = (uint64_t)x;
	int i;

	if (v) {
		memset(v->word, x < 0 ? 0xff : 0, 24);
		for (i = 31; i >= 24; i--, u >>= 8)
			v->word[i] = (unsigned char)u;
	}
	return v;
}

struct eth_abi_val *eth_abi_val_int_word(const unsigned char word[32])
{
	struct eth_abi_val *v = val_new(ETH_ABI_INT);

	if (v)
		memcpy(v->word, word, 32);
	return v;
}

struct eth_abi_val *eth_abi_val_address(const unsigned char addr[20])
{
	struct eth_abi_val *v = val_new(ETH_ABI_ADDRESS);

	if (v)
		memcpy(v->word + 12, addr, 20);
	return v;
}

struct eth_abi_val *eth_abi_val_bool(int b)
{
	struct eth_abi_val *v = val_new(ETH_ABI_BOOL);

	if (v)
		v->word[31] = b ? 1 : 0;
	return v;
}

struct eth_abi_val *eth_abi_val_fbytes(const void *p, size_t n)
{
	struct eth_abi_val *v;

	if (n < 1 || n > 32)
		return NULL;
	v = val_new(ETH_ABI_FBYTES);
	if (v) {
		memcpy(v->word, p, n);
		v->size = (unsigned)n;
	}
	return v;
}

static struct eth_abi_val *val_blob(enum eth_abi_kind kind, const void *p,
				    size_t n)
{
	struct eth_abi_val *v;

	if (n == SIZE_MAX)
		return NULL;
	v = val_new(kind);
	if (!v)
		return NULL;
	v->data = malloc(n + 1);
	if (!v->data) {
		free(v);
		return NULL;
	}
	if (n)
		memcpy(v->data, p, n);
	v->data[n] = '\0';
	v->len = n;
	return v;
}

struct eth_abi_val *eth_abi_val_bytes(const void *p, size_t n)
{
	return val_blob(ETH_ABI_BYTES, p, n);
}

struct eth_abi_val *eth_abi_val_string_n(const char *s, size_t n)
{
	return val_blob(ETH_ABI_STRING, s, n);
}

struct eth_abi_val *eth_abi_val_string(const char *s)
{
	return val_blob(ETH_ABI_STRING, s, strlen(s));
}

struct eth_abi_val *eth_abi_val_tuple(void)
{
	return val_new(ETH_ABI_TUPLE);
}

struct eth_abi_val *eth_abi_val_array(void)
{
	return val_new(ETH_ABI_ARRAY);
}

int eth_abi_append(struct eth_abi_val *parent, struct eth_abi_val *child)
{
	if (!parent) {
		eth_abi_val_free(child);
		return -1;
	}
	if (!child ||
	    (parent->kind != ETH_ABI_TUPLE && parent->kind != ETH_ABI_ARRAY)) {
		eth_abi_val_free(child);
		parent->broken = 1;
		return -1;
	}
	if (parent->n == parent->cap) {
		size_t nc = parent->cap ? parent->cap * 2 : 4;
		struct eth_abi_val **p;

		if (nc > SIZE_MAX / sizeof(*p) ||
		    !(p = realloc(parent->items, nc * sizeof(*p)))) {
			eth_abi_val_free(child);
			parent->broken = 1;
			return -1;
		}
		parent->items = p;
		parent->cap = nc;
	}
	parent->items[parent->n++] = child;
	return 0;
}

/* ---- encoder ---- */

static const char *kind_name(enum eth_abi_kind k)
{
	switch (k) {
	case ETH_ABI_UINT: return "uint";
	case ETH_ABI_INT: return "int";
	case ETH_ABI_ADDRESS: return "address";
	case ETH_ABI_BOOL: return "bool";
	case ETH_ABI_FBYTES: return "bytesN";
	case ETH_ABI_BYTES: return "bytes";
	case ETH_ABI_STRING: return "string";
	case ETH_ABI_ARRAY: return "array";
	case ETH_ABI_TUPLE: return "tuple";
	}
	return "?";
}

static void put_u64_word(unsigned char w[32], uint64_t x)
{
	int i;

	memset(w, 0, 32);
	for (i = 31; i >= 24; i--, x >>= 8)
		w[i] = (unsigned char)x;
}

/* The N-bit value in word fits: high bytes are zero / the sign extension. */
static int word_fits(const unsigned char w[32], enum eth_abi_kind kind,
		     unsigned bits)
{
	size_t hi = (256 - bits) / 8, i;
	unsigned char fill = 0;

	if (kind == ETH_ABI_INT)
		fill = (w[hi] & 0x80) ? 0xff : 0;
	for (i = 0; i < hi; i++)
		if (w[i] != fill)
			return 0;
	return 1;
}

static int encode_seq(struct abi_type *const *types,
		      const struct abi_type *same,
		      struct eth_abi_val *const *vals, size_t n,
		      struct buf *out);

static int add_word(struct buf *out, const unsigned char w[32])
{
	if (buf_add(out, w, 32) < 0)
		return log_err("abi: out of memory");
	return 0;
}

static int encode_value(const struct abi_type *t, const struct eth_abi_val *v,
			struct buf *out)
{
	unsigned char w[32];

	if (v->broken)
		return log_err("abi: value tree incomplete (an allocation failed while building it)");
	if (v->kind != t->kind)
		return log_err("abi: expected a %s value, got %s",
			       kind_name(t->kind), kind_name(v->kind));
	switch (t->kind) {
	case ETH_ABI_UINT:
	case ETH_ABI_INT:
		if (!word_fits(v->word, t->kind, t->size))
			return log_err("abi: value does not fit in %s%u",
				       kind_name(t->kind), t->size);
		return add_word(out, v->word);
	case ETH_ABI_ADDRESS:
	case ETH_ABI_BOOL:
		return add_word(out, v->word);
	case ETH_ABI_FBYTES:
		if (v->size != t->size)
			return log_err("abi: bytes%u value for a bytes%u type",
				       v->size, t->size);
		return add_word(out, v->word);
	case ETH_ABI_BYTES:
	case ETH_ABI_STRING: {
		static const unsigned char zero[32];
		size_t pad = (32 - v->len % 32) % 32;

		put_u64_word(w, (uint64_t)v->len);
		if (buf_add(out, w, 32) < 0 || buf_add(out, v->data, v->len) < 0 ||
		    buf_add(out, zero, pad) < 0)
			return log_err("abi: out of memory");
		return 0;
	}
	case ETH_ABI_ARRAY:
		if (t->fixed) {
			if (v->n != t->fixed)
				return log_err("abi: %zu items for an array of %zu",
					       v->n, t->fixed);
		} else {
			put_u64_word(w, (uint64_t)v->n);
			if (buf_add(out, w, 32) < 0)
				return log_err("abi: out of memory");
		}
		return encode_seq(NULL, t->elem, v->items, v->n, out);
	case ETH_ABI_TUPLE:
		if (v->n != t->ncomp)
			return log_err("abi: %zu values for a tuple of %zu",
				       v->n, t->ncomp);
		return encode_seq(t->comp, NULL, v->items, v->n, out);
	}
	return log_err("abi: unknown type kind");
}

/*
 * Heads then tails of n values; types[i] for a tuple, or `same` for every
 * element of an array.
 */
static int encode_seq(struct abi_type *const *types,
		      const struct abi_type *same,
		      struct eth_abi_val *const *vals, size_t n,
		      struct buf *out)
{
	struct buf tail = BUF_INIT;
	size_t heads = 0, i;
	unsigned char w[32];
	int r = -1;

	for (i = 0; i < n; i++)
		heads += head_size(same ? same : types[i]);
	for (i = 0; i < n; i++) {
		const struct abi_type *t = same ? same : types[i];

		if (t->dynamic) {
			put_u64_word(w, (uint64_t)(heads + tail.len));
			if (buf_add(out, w, 32) < 0) {
				log_err("abi: out of memory");
				goto out;
			}
			if (encode_value(t, vals[i], &tail) < 0)
				goto out;
		} else if (encode_value(t, vals[i], out) < 0) {
			goto out;
		}
	}
	if (buf_add(out, tail.data, tail.len) < 0) {
		log_err("abi: out of memory");
		goto out;
	}
	r = 0;
out:
	buf_release(&tail);
	return r;
}

static int encode_top(const struct abi_type *t, const struct eth_abi_val *v,
		      struct buf *out)
{
	struct abi_type *one[1];
	struct eth_abi_val *vals[1];
	size_t old = out->len;
	int r;

	if (t->kind == ETH_ABI_TUPLE) {
		r = encode_value(t, v, out);
	} else {
		one[0] = (struct abi_type *)t;
		vals[0] = (struct eth_abi_val *)v;
		r = encode_seq(one, NULL, vals, 1, out);
	}
	if (r < 0 && out->data) {
		out->len = old;
		out->data[old] = '\0';
	}
	return r;
}

int eth_abi_encode(const char *type, const struct eth_abi_val *v,
		   struct buf *out)
{
	struct abi_type *t;
	int r;

	if (!v)
		return log_err("abi: no value to encode (allocation failed?)");
	t = type_parse(type, NULL);
	if (!t)
		return -1;
	r = encode_top(t, v, out);
	type_free(t);
	return r;
}

/* "name(types...)": the parameter tuple type starts at the first '('. */
static const char *sig_params(const char *sig)
{
	const char *p = strchr(sig, '(');

	if (!p || p == sig) {
		log_err("abi: bad function signature \"%s\"", sig);
		return NULL;
	}
	return p;
}

int eth_abi_encode_call(const char *sig, const struct eth_abi_val *args,
			struct buf *out)
{
	const char *params = sig_params(sig);
	unsigned char sel[4];
	size_t old = out->len;
	struct abi_type *t;
	int r;

	if (!params)
		return -1;
	if (!args)
		return log_err("abi: no arguments to encode (allocation failed?)");
	if (args->kind != ETH_ABI_TUPLE)
		return log_err("abi: call arguments must be a tuple value");
	t = type_parse(params, NULL);
	if (!t)
		return -1;
	if (t->kind != ETH_ABI_TUPLE) {
		type_free(t);
		return log_err("abi: bad function signature \"%s\"", sig);
	}
	eth_abi_selector(sig, sel);
	r = buf_add(out, sel, 4) < 0 ? log_err("abi: out of memory")
				      : encode_top(t, args, out);
	type_free(t);
	if (r < 0 && out->data) {
		out->len = old;
		out->data[old] = '\0';
	}
	return r;
}

/* ---- decoder ---- */

struct dec {
	const unsigned char *d;
	size_t len;
	size_t budget;	/* bytes we may still produce (see eth_abi.h) */
	struct buf *err;
};

static int spend(struct dec *dc, size_t n)
{
	if (n > dc->budget)
		return eth_errf(dc->err, "abi: encoding reuses data (decoded size exceeds the %zu input bytes)",
				dc->len);
	dc->budget -= n;
	return 0;
}

/* Word at pos, bounds-checked and paid for. */
static const unsigned char *word_at(struct dec *dc, size_t pos)
{
	if (pos > dc->len || dc->len - pos < 32) {
		eth_errf(dc->err, "abi: data too short: need 32 bytes at offset %zu of %zu",
			 pos, dc->len);
		return NULL;
	}
	if (spend(dc, 32) < 0)
		return NULL;
	return dc->d + pos;
}

/* A word holding a size/offset: must fit in 64 bits (and a size_t). */
static int word_size(struct dec *dc, const unsigned char *w, size_t *out,
		     const char *what)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 24; i++)
		if (w[i])
			return eth_errf(dc->err, "abi: %s does not fit in 64 bits", what);
	for (i = 24; i < 32; i++)
		v = v << 8 | w[i];
	if (v > SIZE_MAX)
		return eth_errf(dc->err, "abi: %s too large", what);
	*out = (size_t)v;
	return 0;
}

static int decode_seq(struct dec *dc, struct abi_type *const *types,
		      const struct abi_type *same, size_t n, size_t start,
		      struct eth_abi_val *parent);

static struct eth_abi_val *decode_value(struct dec *dc,
					const struct abi_type *t, size_t pos)
{
	const unsigned char *w = NULL;
	struct eth_abi_val *v = NULL;
	size_t n = 0, i;

	switch (t->kind) {
	case ETH_ABI_UINT:
	case ETH_ABI_INT:
		if (!(w = word_at(dc, pos)))
			return NULL;
		if (!word_fits(w, t->kind, t->size)) {
			eth_errf(dc->err, "abi: value at offset %zu does not fit in %s%u",
				 pos, kind_name(t->kind), t->size);
			return NULL;
		}
		break;
	case ETH_ABI_ADDRESS:
		if (!(w = word_at(dc, pos)))
			return NULL;
		for (i = 0; i < 12; i++)
			if (w[i]) {
				eth_errf(dc->err, "abi: address at offset %zu has non-zero high bytes",
					 pos);
				return NULL;
			}
		break;
	case ETH_ABI_BOOL:
		if (!(w = word_at(dc, pos)))
			return NULL;
		for (i = 0; i < 31; i++)
			if (w[i])
				break;
		if (i < 31 || w[31] > 1) {
			eth_errf(dc->err, "abi: bool at offset %zu is neither 0 nor 1", pos);
			return NULL;
		}
		break;
	case ETH_ABI_FBYTES:
		if (!(w = word_at(dc, pos)))
			return NULL;
		for (i = t->size; i < 32; i++)
			if (w[i]) {
				eth_errf(dc->err, "abi: bytes%u at offset %zu has non-zero padding",
					 t->size, pos);
				return NULL;
			}
		break;
	case ETH_ABI_BYTES:
	case ETH_ABI_STRING:
		if (!(w = word_at(dc, pos)) || word_size(dc, w, &n, "length") < 0)
			return NULL;
		if (n > dc->len - pos - 32) {
			eth_errf(dc->err, "abi: %s of %zu bytes at offset %zu overruns the %zu-byte data",
				 kind_name(t->kind), n, pos, dc->len);
			return NULL;
		}
		if (spend(dc, n) < 0)
			return NULL;
		v = val_blob(t->kind, dc->d + pos + 32, n);
		if (!v)
			eth_errf(dc->err, "abi: out of memory");
		return v;
	case ETH_ABI_ARRAY:
		v = val_new(ETH_ABI_ARRAY);
		if (!v) {
			eth_errf(dc->err, "abi: out of memory");
			return NULL;
		}
		if (t->fixed) {
			n = t->fixed;
		} else {
			if (!(w = word_at(dc, pos)) ||
			    word_size(dc, w, &n, "array length") < 0)
				goto fail;
			pos += 32;
			/* every element needs its head in the remaining data */
			if (n > (dc->len - pos) / head_size(t->elem)) {
				eth_errf(dc->err, "abi: array of %zu elements at offset %zu overruns the %zu-byte data",
					 n, pos - 32, dc->len);
				goto fail;
			}
		}
		if (decode_seq(dc, NULL, t->elem, n, pos, v) < 0)
			goto fail;
		return v;
	case ETH_ABI_TUPLE:
		v = val_new(ETH_ABI_TUPLE);
		if (!v) {
			eth_errf(dc->err, "abi: out of memory");
			return NULL;
		}
		if (decode_seq(dc, t->comp, NULL, t->ncomp, pos, v) < 0)
			goto fail;
		return v;
	}
	/* word kinds */
	v = val_new(t->kind);
	if (!v) {
		eth_errf(dc->err, "abi: out of memory");
		return NULL;
	}
	memcpy(v->word, w, 32);
	if (t->kind == ETH_ABI_FBYTES)
		v->size = t->size;
	return v;
fail:
	eth_abi_val_free(v);
	return NULL;
}

/*
 * n components starting at start (offsets are relative to start); the
 * decoded values are appended to parent.
 */
static int decode_seq(struct dec *dc, struct abi_type *const *types,
		      const struct abi_type *same, size_t n, size_t start,
		      struct eth_abi_val *parent)
{
	size_t hp = start, i, off = 0, heads = 0;
	const unsigned char *w;

	/* all heads must be in the data before anything is allocated */
	for (i = 0; i < n; i++)
		heads += head_size(same ? same : types[i]);
	if (start > dc->len || heads > dc->len - start)
		return eth_errf(dc->err, "abi: data too short: %zu bytes of heads at offset %zu of %zu",
				heads, start, dc->len);
	if (n) {
		parent->items = calloc(n, sizeof(*parent->items));
		if (!parent->items)
			return eth_errf(dc->err, "abi: out of memory");
		parent->cap = n;
	}
	for (i = 0; i < n; i++) {
		const struct abi_type *t = same ? same : types[i];
		struct eth_abi_val *v;

		if (t->dynamic) {
			if (!(w = word_at(dc, hp)) ||
			    word_size(dc, w, &off, "offset") < 0)
				return -1;
			/* the target needs at least its first word in the data */
			if (start > dc->len || off > dc->len - start ||
			    dc->len - start - off < 32)
				return eth_errf(dc->err, "abi: offset %zu at offset %zu points outside the %zu-byte data",
						off, hp, dc->len);
			v = decode_value(dc, t, start + off);
		} else {
			v = decode_value(dc, t, hp);
		}
		if (!v)
			return -1;
		parent->items[parent->n++] = v;
		hp += head_size(t);
	}
	return 0;
}

static int decode_top(const struct abi_type *t, const void *data, size_t len,
		      struct eth_abi_val **out, struct buf *err)
{
	struct dec dc = { data, len, len, err };
	struct eth_abi_val *v, *wrap;
	const struct abi_type *one[1];

	if (t->kind == ETH_ABI_TUPLE) {
		v = decode_value(&dc, t, 0);
		if (!v)
			return -1;
		*out = v;
		return 0;
	}
	wrap = val_new(ETH_ABI_TUPLE);
	if (!wrap)
		return eth_errf(err, "abi: out of memory");
	one[0] = t;
	if (decode_seq(&dc, (struct abi_type *const *)one, NULL, 1, 0, wrap) < 0) {
		eth_abi_val_free(wrap);
		return -1;
	}
	*out = wrap->items[0];
	wrap->n = 0;
	eth_abi_val_free(wrap);
	return 0;
}

int eth_abi_decode(const char *type, const void *data, size_t len,
		   struct eth_abi_val **out, struct buf *err)
{
	struct abi_type *t = type_parse(type, err);
	int r;

	*out = NULL;
	if (!t)
		return -1;
	r = decode_top(t, data, len, out, err);
	type_free(t);
	return r;
}

int eth_abi_decode_call(const char *sig, const void *data, size_t len,
			struct eth_abi_val **out, struct buf *err)
{
	const char *params = strchr(sig, '(');
	unsigned char sel[4];
	struct abi_type *t;
	int r;

	*out = NULL;
	if (!params || params == sig)
		return eth_errf(err, "abi: bad function signature \"%s\"", sig);
	if (len < 4)
		return eth_errf(err, "abi: calldata of %zu bytes has no selector", len);
	eth_abi_selector(sig, sel);
	if (memcmp(sel, data, 4))
		return eth_errf(err, "abi: calldata selector 0x%02x%02x%02x%02x is not %s",
				((const unsigned char *)data)[0],
				((const unsigned char *)data)[1],
				((const unsigned char *)data)[2],
				((const unsigned char *)data)[3], sig);
	t = type_parse(params, err);
	if (!t)
		return -1;
	if (t->kind != ETH_ABI_TUPLE)
		r = eth_errf(err, "abi: bad function signature \"%s\"", sig);
	else
		r = decode_top(t, (const unsigned char *)data + 4, len - 4, out, err);
	type_free(t);
	return r;
}

void eth_abi_selector(const char *sig, unsigned char out[4])
{
	unsigned char h[32];

	eth_keccak256(sig, strlen(sig), h);
	memcpy(out, h, 4);
}

void eth_abi_event_topic(const char *sig, unsigned char out[32])
{
	eth_keccak256(sig, strlen(sig), out);
}

/* ---- accessors ---- */

enum eth_abi_kind eth_abi_kind(const struct eth_abi_val *v)
{
	return v->kind;
}

size_t eth_abi_count(const struct eth_abi_val *v)
{
	if (!v || (v->kind != ETH_ABI_TUPLE && v->kind != ETH_ABI_ARRAY))
		return 0;
	return v->n;
}

const struct eth_abi_val *eth_abi_item(const struct eth_abi_val *v, size_t i)
{
	if (!v || (v->kind != ETH_ABI_TUPLE && v->kind != ETH_ABI_ARRAY) ||
	    i >= v->n)
		return NULL;
	return v->items[i];
}

int eth_abi_get_u256(const struct eth_abi_val *v, struct eth_u256 *out)
{
	if (!v || v->kind != ETH_ABI_UINT)
		return -1;
	memcpy(out->b, v->word, 32);
	return 0;
}

int eth_abi_get_u64(const struct eth_abi_val *v, uint64_t *out)
{
	struct eth_u256 x;

	if (eth_abi_get_u256(v, &x) < 0)
		return -1;
	return eth_u256_to_u64(&x, out);
}

int eth_abi_get_word(const struct eth_abi_val *v, unsigned char out[32])
{
	if (!v)
		return -1;
	switch (v->kind) {
	case ETH_ABI_UINT:
	case ETH_ABI_INT:
	case ETH_ABI_ADDRESS:
	case ETH_ABI_BOOL:
	case ETH_ABI_FBYTES:
		memcpy(out, v->word, 32);
		return 0;
	default:
		return -1;
	}
}

int eth_abi_get_address(const struct eth_abi_val *v, unsigned char out[20])
{
	if (!v || v->kind != ETH_ABI_ADDRESS)
		return -1;
	memcpy(out, v->word + 12, 20);
	return 0;
}

int eth_abi_get_bool(const struct eth_abi_val *v, int *out)
{
	if (!v || v->kind != ETH_ABI_BOOL)
		return -1;
	*out = v->word[31];
	return 0;
}

int eth_abi_get_fbytes(const struct eth_abi_val *v, void *out, size_t n)
{
	if (!v || v->kind != ETH_ABI_FBYTES || v->size != n)
		return -1;
	memcpy(out, v->word, n);
	return 0;
}

int eth_abi_get_bytes(const struct eth_abi_val *v, const unsigned char **p,
		      size_t *len)
{
	if (!v || (v->kind != ETH_ABI_BYTES && v->kind != ETH_ABI_STRING))
		return -1;
	*p = v->data;
	*len = v->len;
	return 0;
}

int eth_abi_get_string(const struct eth_abi_val *v, const char **s,
		       size_t *len)
{
	if (!v || v->kind != ETH_ABI_STRING)
		return -1;
	*s = (const char *)v->data;
	*len = v->len;
	return 0;
}
