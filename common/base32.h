#ifndef COMMON_BASE32_H
#define COMMON_BASE32_H
/*
 * RFC 4648 base32 (alphabet A-Z2-7) without padding, case-insensitive on
 * decode: the form Oyster uses to put a 32-byte transaction hash into a DNS
 * label (52 characters, under the 63-byte label limit).
 */
#include <stddef.h>

#include "buf.h"

/* Decode; fails on characters outside the alphabet, padding, or leftover
 * bits that are not zero (so every byte string has one spelling). */
int base32_decode(const char *s, size_t len, unsigned char *out, size_t out_max, size_t *out_len);
/* Encode lowercase, no padding. */
int base32_encode(const unsigned char *p, size_t n, struct buf *out);

#endif
