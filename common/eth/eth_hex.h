#ifndef COMMON_ETH_ETH_HEX_H
#define COMMON_ETH_ETH_HEX_H
/*
 * Hex text <-> bytes for Ethereum values (addresses, keys, hashes,
 * calldata, signatures).
 *
 * Decoding accepts an optional "0x"/"0X" prefix and upper or lower case
 * digits, and nothing else: no whitespace, no odd digit count, no
 * truncation.  The caller states the size it expects, either exactly
 * (eth_hex_decode: a 20-byte address, a 32-byte key) or as a maximum
 * (eth_hex_decode_max / eth_hex_decode_buf), so a hostile string can never
 * make us write past a fixed array or allocate more than the caller allows.
 * The input is (pointer, length), so it need not be NUL-terminated; a NUL
 * inside the length is an invalid character.
 *
 * Failure reasons use the wording of the Rust `hex` crate that the
 * original Oyster executor reports in its admin API ("Odd number of
 * digits", "Invalid character 'g' at position 3", "Invalid string
 * length"), with positions counted after the prefix, so our 400 bodies
 * read the same.
 *
 * Errors that come from untrusted input: every eth_ parser that takes a
 * `struct buf *err` appends a one-line reason there and does NOT log (the
 * reason belongs to the peer: an HTTP 400 body, a skipped chain event),
 * and when err is NULL it logs the reason instead, so a failure is always
 * reported exactly once.  eth_errf() implements that rule for all of
 * common/eth.
 *
 * Encoding is lowercase, with or without the 0x prefix, appended to a
 * struct buf (binary-safe, NUL-terminated), or written into a fixed char
 * array by eth_hex_str for log lines and JSON fields.
 */
#include <stddef.h>

#include "buf.h"

/* Text sizes including the "0x" prefix and the terminating NUL. */
#define ETH_HEX_STR_SIZE(nbytes) (2 * (nbytes) + 3)

/*
 * Report a validation failure: append the formatted reason to err when err
 * is non-NULL, otherwise log it at error level.  Returns -1.
 */
int eth_errf(struct buf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Decode exactly n bytes (2n digits after the optional prefix). */
int eth_hex_decode(const char *s, size_t slen, unsigned char *out, size_t n,
		   struct buf *err);
/* Decode at most max bytes into out; *outlen gets the decoded size. */
int eth_hex_decode_max(const char *s, size_t slen, unsigned char *out,
		       size_t max, size_t *outlen, struct buf *err);
/*
 * Decode at most max bytes, appending them to out.  On failure out is left
 * as it was.
 */
int eth_hex_decode_buf(const char *s, size_t slen, struct buf *out,
		       size_t max, struct buf *err);

/* Append the lowercase hex of n bytes, with a "0x" prefix if prefix != 0. */
int eth_hex_encode(struct buf *out, const void *p, size_t n, int prefix);
/*
 * Write "0x" + lowercase hex of n bytes into out (outsz >= 2n+3, else the
 * output is truncated at a byte boundary, still NUL-terminated).  Returns
 * out, so it can be used directly as a printf argument.
 */
char *eth_hex_str(char *out, size_t outsz, const void *p, size_t n);

#endif
