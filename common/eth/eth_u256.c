/*
 * 256-bit unsigned arithmetic on big-endian byte arrays; see eth_u256.h.
 *
 * Limbs: l[0] is the least significant 64 bits.  Products and quotients of
 * a limb by a u64 use unsigned __int128 (GCC/Clang on 64-bit targets,
 * which is all we build for).
 */
#include "eth/eth_u256.h"

#include <string.h>

#include "eth/eth_hex.h"
#include "banned.h"

typedef unsigned __int128 u128;

static void to_limbs(const struct eth_u256 *x, uint64_t l[4])
{
	int i, j;

	for (i = 0; i < 4; i++) {
		uint64_t v = 0;

		for (j = 0; j < 8; j++)
			v = v << 8 | x->b[32 - 8 * (i + 1) + j];
		l[i] = v;
	}
}

static void from_limbs(struct eth_u256 *x, const uint64_t l[4])
{
	int i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 8; j++)
			x->b[31 - 8 * i - j] = (unsigned char)(l[i] >> (8 * j));
}

void eth_u256_zero(struct eth_u256 *x)
{
	memset(x->b, 0, sizeof(x->b));
}

void eth_u256_from_u64(struct eth_u256 *x, uint64_t v)
{
	int i;

	memset(x->b, 0, 24);
	for (i = 31; i >= 24; i--, v >>= 8)
		x->b[i] = (unsigned char)v;
}

int eth_u256_to_u64(const struct eth_u256 *x, uint64_t *v)
{
	uint64_t r = 0;
	int i;

	for (i = 0; i < 24; i++)
		if (x->b[i])
			return -1;
	for (i = 24; i < 32; i++)
		r = r << 8 | x->b[i];
	*v = r;
	return 0;
}

int eth_u256_from_be(struct eth_u256 *x, const void *p, size_t n)
{
	if (n > 32)
		return -1;
	memset(x->b, 0, 32 - n);
	if (n)
		memcpy(x->b + 32 - n, p, n);
	return 0;
}

int eth_u256_is_zero(const struct eth_u256 *x)
{
	return eth_u256_bytelen(x) == 0;
}

int eth_u256_cmp(const struct eth_u256 *a, const struct eth_u256 *b)
{
	return memcmp(a->b, b->b, 32);
}

size_t eth_u256_bytelen(const struct eth_u256 *x)
{
	size_t i = 0;

	while (i < 32 && !x->b[i])
		i++;
	return 32 - i;
}

int eth_u256_add(struct eth_u256 *r, const struct eth_u256 *a,
		 const struct eth_u256 *b)
{
	uint64_t x[4], y[4], carry = 0;
	int i;

	to_limbs(a, x);
	to_limbs(b, y);
	for (i = 0; i < 4; i++) {
		u128 s = (u128)x[i] + y[i] + carry;

		x[i] = (uint64_t)s;
		carry = (uint64_t)(s >> 64);
	}
	if (carry)
		return -1;
	from_limbs(r, x);
	return 0;
}

int eth_u256_sub(struct eth_u256 *r, const struct eth_u256 *a,
		 const struct eth_u256 *b)
{
	uint64_t x[4], y[4], borrow = 0;
	int i;

	if (eth_u256_cmp(a, b) < 0)
		return -1;
	to_limbs(a, x);
	to_limbs(b, y);
	for (i = 0; i < 4; i++) {
		uint64_t d = x[i] - y[i] - borrow;

		borrow = (x[i] < y[i]) || (x[i] - y[i] < borrow);
		x[i] = d;
	}
	from_limbs(r, x);
	return 0;
}

/* 5-limb product a * m (320 bits never overflow). */
static void mul5(const struct eth_u256 *a, uint64_t m, uint64_t p[5])
{
	uint64_t x[4], carry = 0;
	int i;

	to_limbs(a, x);
	for (i = 0; i < 4; i++) {
		u128 t = (u128)x[i] * m + carry;

		p[i] = (uint64_t)t;
		carry = (uint64_t)(t >> 64);
	}
	p[4] = carry;
}

int eth_u256_mul_u64(struct eth_u256 *r, const struct eth_u256 *a,
		     uint64_t m)
{
	uint64_t p[5];

	mul5(a, m, p);
	if (p[4])
		return -1;
	from_limbs(r, p);
	return 0;
}

/* Divide an n-limb number in place by d, returning the remainder. */
static uint64_t divn(uint64_t *l, int n, uint64_t d)
{
	u128 rem = 0;
	int i;

	for (i = n - 1; i >= 0; i--) {
		u128 cur = rem << 64 | l[i];

		l[i] = (uint64_t)(cur / d);
		rem = cur % d;
	}
	return (uint64_t)rem;
}

int eth_u256_div_u64(struct eth_u256 *r, const struct eth_u256 *a,
		     uint64_t d, uint64_t *rem)
{
	uint64_t x[4], m;

	if (!d)
		return -1;
	to_limbs(a, x);
	m = divn(x, 4, d);
	from_limbs(r, x);
	if (rem)
		*rem = m;
	return 0;
}

int eth_u256_muldiv_u64(struct eth_u256 *r, const struct eth_u256 *a,
			uint64_t m, uint64_t d, int ceil)
{
	uint64_t p[5], rem;
	int i;

	if (!d)
		return -1;
	mul5(a, m, p);
	rem = divn(p, 5, d);
	if (ceil && rem) {
		for (i = 0; i < 5; i++)
			if (++p[i])
				break;
	}
	if (p[4])
		return -1;
	from_limbs(r, p);
	return 0;
}

int eth_u256_from_dec(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err)
{
	struct eth_u256 v, digit;
	size_t i;

	if (!len)
		return eth_errf(err, "empty number");
	eth_u256_zero(&v);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return eth_errf(err, "invalid decimal digit at position %zu", i);
		eth_u256_from_u64(&digit, (uint64_t)(s[i] - '0'));
		if (eth_u256_mul_u64(&v, &v, 10) < 0 ||
		    eth_u256_add(&v, &v, &digit) < 0)
			return eth_errf(err, "number does not fit in 256 bits");
	}
	*x = v;
	return 0;
}

int eth_u256_from_hex(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err)
{
	struct eth_u256 v;
	size_t i;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (!len)
		return eth_errf(err, "empty number");
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return eth_errf(err, "invalid hex digit at position %zu", i);
	/* leading zeros do not count against the 64-digit limit */
	while (len > 1 && s[0] == '0') {
		s++;
		len--;
	}
	if (len > 64)
		return eth_errf(err, "number does not fit in 256 bits");
	eth_u256_zero(&v);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[len - 1 - i];
		int d;

		if (c <= '9')
			d = c - '0';
		else if (c >= 'a')
			d = c - 'a' + 10;
		else
			d = c - 'A' + 10;
		v.b[31 - i / 2] |= (unsigned char)(i % 2 ? d << 4 : d);
	}
	*x = v;
	return 0;
}

int eth_u256_from_str(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err)
{
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return eth_u256_from_hex(x, s, len, err);
	return eth_u256_from_dec(x, s, len, err);
}

char *eth_u256_to_dec(const struct eth_u256 *x, char out[ETH_U256_DEC_SIZE])
{
	uint64_t l[4];
	char tmp[ETH_U256_DEC_SIZE];
	size_t n = 0, i;

	to_limbs(x, l);
	do {
		tmp[n++] = (char)('0' + divn(l, 4, 10));
	} while (l[0] | l[1] | l[2] | l[3]);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return out;
}

char *eth_u256_to_quantity(const struct eth_u256 *x,
			   char out[ETH_U256_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	size_t i = 0, o = 2;

	out[0] = '0';
	out[1] = 'x';
	/* skip leading zero nibbles, keep at least one digit */
	while (i < 63 && !((x->b[i / 2] >> (i % 2 ? 0 : 4)) & 15))
		i++;
	for (; i < 64; i++)
		out[o++] = digits[(x->b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[o] = '\0';
	return out;
}
