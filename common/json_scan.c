/*
 * json_scan: see json_scan.h.
 *
 * One loop over the text with three entry points (a value, an object key,
 * what follows a value) and a bit stack of the open containers (1 = object,
 * 0 = array).  Strings go through a table of the bytes that need no thought
 * (printable ASCII other than '"' and '\\'), which is where nearly all of a
 * large body's time goes; anything else is an escape, UTF-8 to check, or an
 * error.  The error position is turned into line and column only when there
 * is an error, so the hot loop counts nothing.
 */
#include <stdint.h>
#include <string.h>

#include "json_scan.h"
#include "banned.h"

#define TEXT(x) #x
#define DEPTH_TEXT_(x) TEXT(x)
#define DEPTH_TEXT DEPTH_TEXT_(JSON_SCAN_MAX_DEPTH)

struct scanner {
	const unsigned char *start, *end;
	const unsigned char *at; /* error position */
	const char *reason;
};

/* Printable ASCII except '"' and '\\': copied through a string as is. */
static const unsigned char plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1, [0x7f] = 1,
};

static const unsigned char *fail(struct scanner *s, const unsigned char *at, const char *reason)
{
	s->at = at;
	s->reason = reason;
	return NULL;
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller): the value or -1. */
static long hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hexval(p[i]);
		if (d < 0)
			return -1;
		v = (v << 4) | d;
	}
	return v;
}

/*
 * The length of the UTF-8 sequence at p (lead byte >= 0x80), or 0 when it
 * is not one RFC 3629 allows: overlong forms (C0, C1, E0 80-9F, F0 80-8F),
 * UTF-16 surrogates (ED A0-BF, so CESU-8 too) and code points past U+10FFFF
 * (F4 90-BF, F5-FF) are refused with the lone continuation bytes.
 */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The escape at p (p[0] == '\\'): the byte after it, or NULL. */
static const unsigned char *scan_escape(struct scanner *s, const unsigned char *p)
{
	const unsigned char *end = s->end;
	long u, lo;

	if (end - p < 2)
		return fail(s, end, "unterminated string");
	switch (p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return p + 2;
	case 'u':
		break;
	default:
		return fail(s, p, "invalid escape in a string");
	}
	if (end - p < 6 || (u = hex4(p + 2)) < 0)
		return fail(s, p, "\\u must be followed by four hex digits");
	if (u >= 0xdc00 && u <= 0xdfff)
		return fail(s, p, "lone low surrogate in a \\u escape");
	if (u < 0xd800 || u > 0xdbff)
		return p + 6;
	/* A high surrogate counts only with the low one right after it. */
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return fail(s, p, "lone high surrogate in a \\u escape");
	return p + 12;
}

/* The string at p (p[0] == '"'): the byte after its closing quote, or NULL. */
static const unsigned char *scan_string(struct scanner *s, const unsigned char *p)
{
	const unsigned char *end = s->end;
	size_t n;

	p++;
	for (;;) {
		while (p < end && plain[*p])
			p++;
		if (p == end)
			return fail(s, end, "unterminated string");
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (!(p = scan_escape(s, p)))
				return NULL;
		} else if (*p < 0x20) {
			return fail(s, p, "control character in a string (it must be escaped)");
		} else {
			if (!(n = utf8_len(p, end)))
				return fail(s, p, "invalid UTF-8 in a string");
			p += n;
		}
	}
}

static const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* The number at p (p[0] is '-' or a digit): the byte after it, or NULL. */
static const unsigned char *scan_number(struct scanner *s, const unsigned char *p)
{
	const unsigned char *end = s->end, *q;

	if (*p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return fail(s, p, "a digit must follow '-'");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return fail(s, p, "leading zeros are not allowed in a number");
	} else {
		p = digits(p, end);
	}
	if (p < end && *p == '.') {
		q = digits(p + 1, end);
		if (q == p + 1)
			return fail(s, q, "a digit must follow the decimal point");
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = digits(p, end);
		if (q == p)
			return fail(s, p, "a digit must follow the exponent mark");
		p = q;
	}
	return p;
}

static const unsigned char *scan_literal(struct scanner *s, const unsigned char *p,
					 const char *word, size_t n)
{
	if ((size_t)(s->end - p) < n || memcmp(p, word, n))
		return fail(s, p, "invalid literal (true, false or null expected)");
	return p + n;
}

/* Byte offset to line and column, counting characters like jansson does. */
static void locate(const struct scanner *s, struct json_scan_error *err)
{
	const unsigned char *p;

	err->offset = (size_t)(s->at - s->start);
	err->line = 1;
	err->column = 1;
	for (p = s->start; p < s->at; p++) {
		if (*p == '\n') {
			err->line++;
			err->column = 1;
		} else if ((*p & 0xc0) != 0x80) {
			err->column++;
		}
	}
	err->reason = s->reason;
}

int json_scan(const void *data, size_t len, enum json_scan_type *type, json_scan_member_fn *fn,
	      void *arg, struct json_scan_error *err)
{
	struct scanner s = { data, (const unsigned char *)data + len, NULL, NULL };
	const unsigned char *p = s.start, *end = s.end;
	const unsigned char *key = NULL, *key_end = NULL, *val = NULL;
	uint64_t stack[JSON_SCAN_MAX_DEPTH / 64] = { 0 };
	unsigned depth = 0;
	enum json_scan_type t, root = JSON_SCAN_NULL, mtype = JSON_SCAN_NULL;
	struct json_scan_member m;
	const char *why;

	p = skip_ws(p, end);
value:
	/* p is at the first byte of a value (whitespace skipped) */
	if (p == end) {
		fail(&s, p, "unexpected end of input (a value was expected)");
		goto bad;
	}
	switch (*p) {
	case '{':
	case '[':
		t = *p == '{' ? JSON_SCAN_OBJECT : JSON_SCAN_ARRAY;
		if (depth == JSON_SCAN_MAX_DEPTH) {
			fail(&s, p, "nested too deeply (more than " DEPTH_TEXT " levels)");
			goto bad;
		}
		if (depth == 0)
			root = t;
		else if (depth == 1)
			mtype = t;
		if (t == JSON_SCAN_OBJECT)
			stack[depth / 64] |= UINT64_C(1) << (depth % 64);
		else
			stack[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
		depth++;
		p = skip_ws(p + 1, end);
		if (p < end && *p == (t == JSON_SCAN_OBJECT ? '}' : ']')) {
			p++;
			depth--;
			goto after;
		}
		if (t == JSON_SCAN_OBJECT)
			goto key;
		goto value;
	case '"':
		t = JSON_SCAN_STRING;
		p = scan_string(&s, p);
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		t = JSON_SCAN_NUMBER;
		p = scan_number(&s, p);
		break;
	case 't':
		t = JSON_SCAN_TRUE;
		p = scan_literal(&s, p, "true", 4);
		break;
	case 'f':
		t = JSON_SCAN_FALSE;
		p = scan_literal(&s, p, "false", 5);
		break;
	case 'n':
		t = JSON_SCAN_NULL;
		p = scan_literal(&s, p, "null", 4);
		break;
	default:
		fail(&s, p, "unexpected character (a value was expected)");
		goto bad;
	}
	if (!p)
		goto bad;
	if (depth == 0)
		root = t;
	else if (depth == 1)
		mtype = t;
after:
	/* a value ended at p; what may follow depends on the container it is in */
	if (depth == 0)
		goto done;
	if (stack[(depth - 1) / 64] & (UINT64_C(1) << ((depth - 1) % 64))) {
		if (depth == 1 && fn) {
			m.key = (const char *)key;
			m.key_len = (size_t)(key_end - key);
			m.value = (const char *)val;
			m.value_len = (size_t)(p - val);
			m.type = mtype;
			why = NULL;
			if (fn(arg, &m, &why) < 0) {
				fail(&s, key - 1, why ? why : "refused member");
				goto bad;
			}
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			goto key;
		}
		if (p < end && *p == '}') {
			p++;
			depth--;
			goto after;
		}
		fail(&s, p, p == end ? "unterminated object" : "',' or '}' expected after an object member");
		goto bad;
	}
	p = skip_ws(p, end);
	if (p < end && *p == ',') {
		p = skip_ws(p + 1, end);
		if (p < end && *p == ']') {
			fail(&s, p, "trailing comma before ']'");
			goto bad;
		}
		goto value;
	}
	if (p < end && *p == ']') {
		p++;
		depth--;
		goto after;
	}
	fail(&s, p, p == end ? "unterminated array" : "',' or ']' expected after an array element");
	goto bad;
key:
	/* p is at an object key (whitespace skipped) */
	if (p == end || *p != '"') {
		/* '{' followed by '}' never comes here: a '}' here follows a comma */
		fail(&s, p, p == end ? "unterminated object" :
			    *p == '}' ? "trailing comma before '}'" : "an object key (a string) was expected");
		goto bad;
	}
	if (depth == 1)
		key = p + 1;
	if (!(p = scan_string(&s, p)))
		goto bad;
	if (depth == 1)
		key_end = p - 1;
	p = skip_ws(p, end);
	if (p == end || *p != ':') {
		fail(&s, p, p == end ? "unterminated object" : "':' expected after an object key");
		goto bad;
	}
	p = skip_ws(p + 1, end);
	if (depth == 1)
		val = p;
	goto value;
done:
	p = skip_ws(p, end);
	if (p != end) {
		fail(&s, p, "end of input expected after the JSON value");
		goto bad;
	}
	if (type)
		*type = root;
	return 0;
bad:
	locate(&s, err);
	return -1;
}

/* Append one code point as UTF-8 if it fits in out[0..outsz - 1); the length either way. */
static size_t put_utf8(unsigned long cp, char *out, size_t o, size_t outsz, int *full)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (!*full && outsz && o + n < outsz)
		memcpy(out + o, b, n);
	else
		*full = 1;
	return n;
}

size_t json_scan_unescape(const char *raw, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)raw, *end = p + len;
	size_t o = 0, n, kept = 0;
	unsigned long cp;
	int full = 0;

	while (p < end) {
		if (*p != '\\') {
			/* a whole UTF-8 sequence at a time, so a cut never splits one */
			n = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
			if ((size_t)(end - p) < n)
				n = (size_t)(end - p);
			if (!full && outsz && o + n < outsz)
				memcpy(out + o, p, n);
			else
				full = 1;
			o += n;
			p += n;
			goto next;
		}
		/* json_scan() checked the escapes; this only keeps other text in bounds */
		if (end - p < 2 || (p[1] == 'u' && (end - p < 6 || hex4(p + 2) < 0)))
			break;
		switch (p[1]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = (unsigned long)hex4(p + 2);
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 12 && hex4(p + 8) >= 0xdc00) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     ((unsigned long)hex4(p + 8) - 0xdc00);
				p += 6;
			}
			p += 4;
			break;
		default: cp = p[1]; break; /* '"', '\\', '/' */
		}
		p += 2;
		o += put_utf8(cp, out, o, outsz, &full);
next:
		if (!full)
			kept = o;
	}
	if (outsz)
		out[kept] = '\0';
	return o;
}
