#include "base32.h"

#include "banned.h"

static int val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int base32_decode(const char *s, size_t len, unsigned char *out, size_t out_max, size_t *out_len)
{
	unsigned long acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	/* Lengths that leave 1, 3 or 6 characters over cannot come from whole bytes. */
	if (len % 8 == 1 || len % 8 == 3 || len % 8 == 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = val(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 5) | (unsigned long)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_max)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*out_len = n;
	return 0;
}

int base32_encode(const unsigned char *p, size_t n, struct buf *out)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned long acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			buf_addch(out, alpha[(acc >> bits) & 31]);
		}
		acc &= (1UL << bits) - 1;
	}
	if (bits)
		buf_addch(out, alpha[(acc << (5 - bits)) & 31]);
	return out->data || !n ? 0 : -1;
}
