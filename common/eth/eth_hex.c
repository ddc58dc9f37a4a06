/*
 * Hex codec for Ethereum values; see eth_hex.h for the rules.
 *
 * All decoders funnel into hex_check(), which validates the whole string
 * (prefix, parity, digits, size bound) before a single byte is written, so
 * a failed decode never leaves partial output behind.
 */
#include "eth/eth_hex.h"

#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "banned.h"

int eth_errf(struct buf *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err) {
		buf_vaddf(err, fmt, ap);
	} else {
		struct buf b = BUF_INIT;

		buf_vaddf(&b, fmt, ap);
		log_err("%s", buf_cstr(&b));
		buf_release(&b);
	}
	va_end(ap);
	return -1;
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Rust prints a char with {:?}: 'g', or an escape for the unprintable. */
static int bad_char(struct buf *err, unsigned char c, size_t pos)
{
	if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
		return eth_errf(err, "Invalid character '%c' at position %zu",
				c, pos);
	return eth_errf(err, "Invalid character '\\u{%x}' at position %zu",
			c, pos);
}

/*
 * Validate s and return the digits (prefix stripped) through *digits and
 * *ndigits.  want_exact: n is the exact byte count, else the maximum.
 */
static int hex_check(const char *s, size_t slen, size_t n, int want_exact,
		     const char **digits, size_t *ndigits, struct buf *err)
{
	size_t i;

	if (!s)
		return eth_errf(err, "Invalid string length");
	if (slen >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		slen -= 2;
	}
	/* the order of the checks is the hex crate's */
	if (slen % 2)
		return eth_errf(err, "Odd number of digits");
	if (want_exact && slen / 2 != n)
		return eth_errf(err, "Invalid string length");
	for (i = 0; i < slen; i++)
		if (hex_val((unsigned char)s[i]) < 0)
			return bad_char(err, (unsigned char)s[i], i);
	if (!want_exact && slen / 2 > n)
		return eth_errf(err, "Invalid string length");
	*digits = s;
	*ndigits = slen;
	return 0;
}

static void hex_fill(const char *d, size_t nd, unsigned char *out)
{
	size_t i;

	for (i = 0; i < nd / 2; i++)
		out[i] = (unsigned char)(hex_val((unsigned char)d[2 * i]) << 4 |
					 hex_val((unsigned char)d[2 * i + 1]));
}

int eth_hex_decode(const char *s, size_t slen, unsigned char *out, size_t n,
		   struct buf *err)
{
	const char *d;
	size_t nd;

	if (hex_check(s, slen, n, 1, &d, &nd, err) < 0)
		return -1;
	hex_fill(d, nd, out);
	return 0;
}

int eth_hex_decode_max(const char *s, size_t slen, unsigned char *out,
		       size_t max, size_t *outlen, struct buf *err)
{
	const char *d;
	size_t nd;

	if (hex_check(s, slen, max, 0, &d, &nd, err) < 0)
		return -1;
	hex_fill(d, nd, out);
	*outlen = nd / 2;
	return 0;
}

int eth_hex_decode_buf(const char *s, size_t slen, struct buf *out,
		       size_t max, struct buf *err)
{
	const char *d;
	size_t nd;

	if (hex_check(s, slen, max, 0, &d, &nd, err) < 0)
		return -1;
	if (buf_grow(out, nd / 2) < 0)
		return eth_errf(err, "Out of memory decoding %zu bytes", nd / 2);
	hex_fill(d, nd, (unsigned char *)out->data + out->len);
	out->len += nd / 2;
	out->data[out->len] = '\0';
	return 0;
}

int eth_hex_encode(struct buf *out, const void *p, size_t n, int prefix)
{
	if (prefix && buf_add(out, "0x", 2) < 0)
		return log_err("hex: out of memory");
	if (buf_addhex(out, p, n) < 0)
		return log_err("hex: out of memory encoding %zu bytes", n);
	return 0;
}

char *eth_hex_str(char *out, size_t outsz, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i, o = 0;

	if (!outsz)
		return out;
	if (outsz >= 3) {
		out[o++] = '0';
		out[o++] = 'x';
	}
	for (i = 0; i < n && o + 2 < outsz; i++) {
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 15];
	}
	out[o] = '\0';
	return out;
}
