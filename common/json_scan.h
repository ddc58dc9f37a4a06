#ifndef COMMON_JSON_SCAN_H
#define COMMON_JSON_SCAN_H
/*
 * json_scan: a validating, single-pass JSON scanner that builds nothing.
 *
 * Some bodies only need to be checked and cut up, not understood: POST
 * /api/serverless reads two short strings from the top-level object and
 * hands the "input" value to the worker as it came.  Building a DOM for
 * that (jansson) and serialising the input again cost ~50 ms of CPU for a
 * 1 MB body; this scanner checks the same text in about a millisecond.
 *
 * What is accepted is RFC 8259 JSON, strictly: exactly one value with
 * optional whitespace (space, tab, LF, CR) around it; strings without raw
 * control characters, with valid escapes (\uXXXX surrogates must pair) and
 * valid UTF-8 (no overlong forms, no encoded surrogates, nothing past
 * U+10FFFF); numbers by the grammar (no leading zeros, no '+', no bare '.');
 * true, false, null.  Containers may nest JSON_SCAN_MAX_DEPTH deep.
 *
 * Unlike jansson the scanner has no value limits of its own: integers past
 * 64 bits and reals past a double's range are grammar-valid and accepted
 * (the caller forwards the text; its reader decides), "\u0000" is accepted
 * in strings and keys, and duplicate keys are the caller's business (it
 * sees top-level members only).
 *
 * The scan is iterative (an explicit bit stack of the open containers), so
 * hostile nesting costs neither C stack nor memory.
 */
#include <stddef.h>
#include <sys/types.h>

/*
 * The limit jansson had (JSON_PARSER_MAX_DEPTH), so no body that parsed
 * before this scanner replaced it is refused now.  The scan itself does not
 * need a limit (its stack is 256 bytes of bits); the bound is for whoever
 * reads the text next: recursive code over a 60 000-deep value (a worker's
 * JSON.stringify, a naive walker) can run out of stack, so such text is
 * refused here with a clear message instead.
 */
#define JSON_SCAN_MAX_DEPTH 2048

enum json_scan_type {
	JSON_SCAN_OBJECT,
	JSON_SCAN_ARRAY,
	JSON_SCAN_STRING,
	JSON_SCAN_NUMBER,
	JSON_SCAN_TRUE,
	JSON_SCAN_FALSE,
	JSON_SCAN_NULL,
};

/* One member of the top-level object: spans of the scanned text. */
struct json_scan_member {
	const char *key;   /* the key between its quotes, still escaped */
	size_t key_len;
	const char *value; /* the value verbatim, first to last byte (a string keeps its quotes) */
	size_t value_len;
	enum json_scan_type type;
};

/* Where and why the text is not JSON (or why the member callback stopped). */
struct json_scan_error {
	size_t offset;        /* byte offset of the offending byte (len at the end of input) */
	unsigned long line;   /* 1-based */
	unsigned long column; /* 1-based, in characters (UTF-8 sequences) like jansson */
	const char *reason;   /* static English text */
};

/*
 * Called for each member of the top-level object once its value has been
 * scanned.  Return 0 to go on, or set *reason (static text) and return -1 to
 * stop: json_scan() then fails with that reason at the member's key.
 */
typedef int json_scan_member_fn(void *arg, const struct json_scan_member *m, const char **reason);

/*
 * Check that p[0..len) is one JSON text.  0 with *type the top-level type
 * (type may be NULL), or -1 with *err filled in.  When the top level is an
 * object and fn is not NULL, fn sees each of its members in order; a member
 * is passed only once its value is valid, but the text after it may still
 * turn out invalid.
 */
int json_scan(const void *p, size_t len, enum json_scan_type *type, json_scan_member_fn *fn,
	      void *arg, struct json_scan_error *err);

/*
 * Decode the contents of a string json_scan() accepted (between the quotes,
 * as in json_scan_member.key, or value + 1 and value_len - 2) into out:
 * at most outsz - 1 bytes and a NUL, never a partial character.  Returns the
 * full decoded length (like snprintf): the output was cut when the result is
 * >= outsz.  "\u0000" decodes to a NUL byte, which the caller must handle.
 * The decoded length is never more than len.
 */
size_t json_scan_unescape(const char *raw, size_t len, char *out, size_t outsz);

#endif
