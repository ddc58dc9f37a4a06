/*
 * Code bundles: parsing (raw JS, JSON bundle), validation, the canonical
 * encoding and its decoder, code ids and the JSON rendering.  See code.h
 * for the formats and rules.
 *
 * One validation routine (check_code) serves the parsers and the decoder,
 * so anything that decodes is something an upload could have produced;
 * name and limit checks happen while reading, where the input position
 * makes the message precise.  Parser errors are user errors: they are
 * written into the caller's err buffer, never logged.  Decoder errors mean
 * a corrupted store: they are logged.
 *
 * The base64 codec lives here because only bundles need it.  It is strict
 * (RFC 4648 section 3.5 "canonical"): standard alphabet, '=' padding
 * required so the length is a multiple of 4, no whitespace or line breaks,
 * and the unused bits of the last quantum must be zero, so every byte
 * string has exactly one accepted encoding.  The encoder always pads.
 */
#include "code.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

static const char code_magic[] = "OYSTERCODE1\n";
#define CODE_MAGIC_LEN (sizeof(code_magic) - 1)

static const char *const type_names[] = {
	[CODE_ESMODULE] = "esModule",
	[CODE_WASM] = "wasm",
	[CODE_TEXT] = "text",
	[CODE_DATA] = "data",
	[CODE_JSON] = "json",
};
#define CODE_NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *code_module_type_name(enum code_module_type t)
{
	if ((unsigned)t < CODE_NTYPES)
		return type_names[t];
	return "unknown";
}

static int type_from_name(const char *s, size_t n, enum code_module_type *t)
{
	size_t i;

	for (i = 0; i < CODE_NTYPES; i++) {
		if (strlen(type_names[i]) == n && !memcmp(type_names[i], s, n)) {
			*t = (enum code_module_type)i;
			return 0;
		}
	}
	return -1;
}

static int is_text_type(enum code_module_type t)
{
	return t == CODE_ESMODULE || t == CODE_TEXT || t == CODE_JSON;
}

void code_init(struct code *c)
{
	c->main = NULL;
	c->mods = NULL;
	c->n = 0;
}

void code_release(struct code *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->mods[i].name);
		free(c->mods[i].data);
	}
	free(c->mods);
	free(c->main);
	code_init(c);
}

/* ---- error reporting ---------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int fail(struct buf *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int fail_oom(struct buf *err)
{
	log_err("code: out of memory");
	return fail(err, CODE_INTERNAL, "out of memory");
}

/*
 * A user-supplied string made safe to quote in a message: printable ASCII
 * kept, anything else as \xNN, cut at 48 input bytes.  Messages end up in
 * JSON error bodies and logs, so they must stay short ASCII.
 */
struct shown {
	char s[48 * 4 + 8];
};

static const char *show(struct shown *out, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i, o = 0;

	for (i = 0; i < n && i < 48; i++) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\')
			out->s[o++] = (char)u[i];
		else
			o += (size_t)snprintf(out->s + o, sizeof(out->s) - o,
					      "\\x%02x", u[i]);
	}
	if (i < n) {
		memcpy(out->s + o, "...", 3);
		o += 3;
	}
	out->s[o] = '\0';
	return out->s;
}

/* ---- validation helpers -------------------------------------------------- */

/*
 * Why a module name is unacceptable, or NULL.  Names become file names in
 * the sandbox and module specifiers in workerd's capnp config, hence the
 * path rules on top of the character set.
 */
static const char *name_problem(const char *p, size_t n)
{
	size_t i, seg;

	if (n == 0)
		return "is empty";
	if (n > CODE_NAME_MAX)
		return "is longer than 255 bytes";
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == 0)
			return "contains a NUL byte";
		if (ch < 0x20 || ch == 0x7f)
			return "contains a control character";
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-' || ch == '/'))
			return "contains a character other than A-Z a-z 0-9 . _ - /";
	}
	if (p[0] == '/')
		return "starts with '/'";
	if (p[n - 1] == '/')
		return "ends with '/'";
	for (i = 0; i < n; i = seg + 1) {
		seg = i;
		while (seg < n && p[seg] != '/')
			seg++;
		if (seg == i)
			return "has an empty path segment (\"//\")";
		if (seg - i == 1 && p[i] == '.')
			return "has a \".\" path segment";
		if (seg - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return "has a \"..\" path segment";
	}
	return NULL;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
	size_t i = 0, k, need;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (n - i <= need)
			goto bad;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		i += need + 1;
	}
	return 1;
bad:
	*bad = i;
	return 0;
}

static int cmp_mod(const void *a, const void *b)
{
	const struct code_module *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Content rules per type; NULL when acceptable. */
static const char *content_problem(const struct code_module *m, size_t *off)
{
	const unsigned char *nul;

	if (is_text_type(m->type)) {
		if (!utf8_valid(m->data, m->len, off))
			return "is not valid UTF-8";
		nul = memchr(m->data, 0, m->len);
		if (nul) {
			*off = (size_t)(nul - m->data);
			return "contains a NUL character";
		}
	} else if (m->type == CODE_WASM) {
		*off = SIZE_MAX;	/* no useful position */
		if (m->len < 4 || memcmp(m->data, "\0asm", 4))
			return "does not start with the WebAssembly magic \\0asm";
	}
	return NULL;
}

/*
 * Whole-code rules, on names already checked one by one: modules strictly
 * sorted (so unique), content fits its type, main names a non-empty
 * esModule.
 */
static int check_code(const struct code *c, struct buf *err)
{
	struct code_module key, *m;
	struct shown sh;
	const char *why;
	size_t i, off = 0;

	if (c->n == 0)
		return fail(err, CODE_INVALID, "\"modules\" is empty");
	for (i = 0; i < c->n; i++) {
		m = &c->mods[i];
		if (i > 0 && strcmp(c->mods[i - 1].name, m->name) >= 0) {
			if (!strcmp(c->mods[i - 1].name, m->name))
				return fail(err, CODE_INVALID,
					    "duplicate module name \"%s\"",
					    show(&sh, m->name, strlen(m->name)));
			return fail(err, CODE_INVALID,
				    "modules are not sorted by name at \"%s\"",
				    show(&sh, m->name, strlen(m->name)));
		}
		if ((unsigned)m->type >= CODE_NTYPES)
			return fail(err, CODE_INVALID,
				    "module \"%s\" has unknown type %u",
				    show(&sh, m->name, strlen(m->name)),
				    (unsigned)m->type);
		why = content_problem(m, &off);
		if (why && off == SIZE_MAX)
			return fail(err, CODE_INVALID, "%s module \"%s\" %s",
				    type_names[m->type],
				    show(&sh, m->name, strlen(m->name)), why);
		if (why)
			return fail(err, CODE_INVALID,
				    "%s module \"%s\" %s (at byte %zu)",
				    type_names[m->type],
				    show(&sh, m->name, strlen(m->name)), why,
				    off);
	}
	key.name = c->main;
	m = bsearch(&key, c->mods, c->n, sizeof(*c->mods), cmp_mod);
	if (!m)
		return fail(err, CODE_INVALID,
			    "\"main\" (\"%s\") does not name a module in \"modules\"",
			    show(&sh, c->main, strlen(c->main)));
	if (m->type != CODE_ESMODULE)
		return fail(err, CODE_INVALID,
			    "\"main\" (\"%s\") must be an esModule, not %s",
			    show(&sh, c->main, strlen(c->main)),
			    type_names[m->type]);
	if (m->len == 0)
		return fail(err, CODE_INVALID, "main module \"%s\" is empty",
			    show(&sh, c->main, strlen(c->main)));
	return CODE_OK;
}

/* A NUL-terminated heap copy of n bytes (for names and contents alike). */
static void *dupmem(const void *p, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = malloc(n + 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* ---- base64 ------------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Decode strictly (see the file comment).  On success *out is a
 * NUL-terminated heap buffer of *outlen bytes.  Returns CODE_OK, or
 * CODE_INVALID with *why and *where set, or CODE_INTERNAL.
 */
static int b64_decode(const char *s, size_t n, unsigned char **out,
		      size_t *outlen, const char **why, size_t *where)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char *d;
	size_t i, o = 0, pad = 0;
	uint32_t q;
	int v, k;

	*out = NULL;
	*outlen = 0;
	if (n % 4) {
		*why = "length is not a multiple of 4 (padding is required)";
		*where = n;
		return CODE_INVALID;
	}
	if (n >= 1 && u[n - 1] == '=') {
		pad++;
		if (n >= 2 && u[n - 2] == '=')
			pad++;
	}
	d = malloc(n / 4 * 3 + 1);
	if (!d)
		return CODE_INTERNAL;
	for (i = 0; i < n; i += 4) {
		q = 0;
		for (k = 0; k < 4; k++) {
			size_t at = i + (size_t)k;

			if (u[at] == '=' && at >= n - pad) {
				v = 0;
			} else {
				v = b64_value(u[at]);
				if (v < 0) {
					*why = u[at] == '=' ?
						"'=' is only allowed at the end" :
						"invalid character";
					*where = at;
					free(d);
					return CODE_INVALID;
				}
			}
			q = q << 6 | (uint32_t)v;
		}
		d[o++] = (unsigned char)(q >> 16);
		d[o++] = (unsigned char)(q >> 8);
		d[o++] = (unsigned char)q;
	}
	/* the bits under the padding must be zero (canonical form) */
	if ((pad == 1 && (d[o - 1] != 0)) || (pad == 2 && (d[o - 2] != 0))) {
		*why = "non-zero bits before the padding";
		*where = n - pad - 1;
		free(d);
		return CODE_INVALID;
	}
	o -= pad;
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return CODE_OK;
}

static int b64_encode(struct buf *b, const unsigned char *p, size_t n)
{
	char q[4];
	size_t i;
	uint32_t v;

	if (n / 3 >= SIZE_MAX / 4 - 1 || buf_grow(b, (n + 2) / 3 * 4) < 0)
		return -1;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64_alphabet[v >> 18];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = b64_alphabet[(v >> 6) & 63];
		q[3] = b64_alphabet[v & 63];
		if (buf_add(b, q, 4) < 0)
			return -1;
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		q[0] = b64_alphabet[v >> 18];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = '=';
		if (buf_add(b, q, 4) < 0)
			return -1;
	}
	return 0;
}

/* ---- parsers ------------------------------------------------------------ */

static int over_modules(const struct code_limits *lim, size_t n)
{
	return lim && lim->max_modules && n > lim->max_modules;
}

static int over_total(const struct code_limits *lim, size_t total)
{
	return lim && lim->max_total && total > lim->max_total;
}

/* Parser exit: on failure leave c empty whatever was read so far. */
static int finish(struct code *c, int rc)
{
	if (rc != CODE_OK)
		code_release(c);
	return rc;
}

int code_from_js(struct code *c, const void *src, size_t len,
		 const struct code_limits *lim, struct buf *err)
{
	int rc;

	code_init(c);
	if (len == 0)
		return fail(err, CODE_INVALID, "the JavaScript module is empty");
	if (over_total(lim, len))
		return fail(err, CODE_TOO_LARGE,
			    "the JavaScript module is %zu bytes, over the limit of %zu",
			    len, lim->max_total);
	c->main = dupmem(CODE_MAIN_JS, strlen(CODE_MAIN_JS));
	c->mods = calloc(1, sizeof(*c->mods));
	if (!c->main || !c->mods)
		return finish(c, fail_oom(err));
	c->n = 1;
	c->mods[0].type = CODE_ESMODULE;
	c->mods[0].name = dupmem(CODE_MAIN_JS, strlen(CODE_MAIN_JS));
	c->mods[0].data = dupmem(src, len);
	c->mods[0].len = len;
	if (!c->mods[0].name || !c->mods[0].data)
		return finish(c, fail_oom(err));
	rc = check_code(c, err);
	return finish(c, rc);
}

/*
 * An upper bound on the JSON text of any bundle within the limits (every
 * content byte escaped as \u00XX, generous per-module overhead), so a huge
 * body is refused before jansson builds a tree of it.
 */
static int json_too_big(size_t len, const struct code_limits *lim)
{
	size_t mods, bound;

	if (!lim || !lim->max_total)
		return 0;
	mods = lim->max_modules ? lim->max_modules : CODE_DECODE_MAX_MODULES;
	if (lim->max_total > SIZE_MAX / 8 || mods > SIZE_MAX / 8 / 4096)
		return 0;
	bound = 6 * lim->max_total;
	if (bound > SIZE_MAX - mods * 4096 - 65536)
		return 0;
	bound += mods * 4096 + 65536;
	return len > bound;
}

/*
 * Keys are compared with their length so that a key such as "main\u0000x"
 * could never pass for "main" (jansson 2.14 refuses NUL in keys even with
 * JSON_ALLOW_NUL; this keeps us safe should that change).
 */
static int key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && !memcmp(key, want, klen);
}

/* Read modules[i] into *m.  total accumulates content bytes. */
static int parse_module(json_t *jm, size_t i, struct code_module *m,
			size_t *total, const struct code_limits *lim,
			struct buf *err)
{
	json_t *jname = NULL, *jtype = NULL, *jtext = NULL, *jb64 = NULL, *v;
	const char *key, *why, *s;
	struct shown sh, sh2;
	size_t n, where, klen;
	int rc;

	if (!json_is_object(jm))
		return fail(err, CODE_INVALID, "modules[%zu] is not an object", i);
	json_object_keylen_foreach(jm, key, klen, v) {
		if (key_is(key, klen, "name"))
			jname = v;
		else if (key_is(key, klen, "type"))
			jtype = v;
		else if (key_is(key, klen, "content"))
			jtext = v;
		else if (key_is(key, klen, "content_base64"))
			jb64 = v;
		else
			return fail(err, CODE_INVALID,
				    "modules[%zu] has unknown key \"%s\" "
				    "(allowed: name, type, content, content_base64)",
				    i, show(&sh, key, klen));
	}
	if (!jname)
		return fail(err, CODE_INVALID, "modules[%zu] has no \"name\"", i);
	if (!json_is_string(jname))
		return fail(err, CODE_INVALID,
			    "modules[%zu]: \"name\" is not a string", i);
	s = json_string_value(jname);
	n = json_string_length(jname);
	why = name_problem(s, n);
	if (why)
		return fail(err, CODE_INVALID, "modules[%zu]: name \"%s\" %s",
			    i, show(&sh, s, n), why);
	m->name = dupmem(s, n);
	if (!m->name)
		return fail_oom(err);

	if (!jtype)
		return fail(err, CODE_INVALID, "module \"%s\" has no \"type\"",
			    show(&sh, s, n));
	if (!json_is_string(jtype))
		return fail(err, CODE_INVALID,
			    "module \"%s\": \"type\" is not a string",
			    show(&sh, s, n));
	if (type_from_name(json_string_value(jtype), json_string_length(jtype),
			   &m->type) < 0)
		return fail(err, CODE_INVALID,
			    "module \"%s\" has unknown type \"%s\" "
			    "(allowed: esModule, wasm, text, data, json)",
			    show(&sh, s, n),
			    show(&sh2, json_string_value(jtype),
				 json_string_length(jtype)));

	if (jtext && jb64)
		return fail(err, CODE_INVALID,
			    "module \"%s\" has both \"content\" and "
			    "\"content_base64\"; give exactly one",
			    show(&sh, s, n));
	if (!jtext && !jb64)
		return fail(err, CODE_INVALID,
			    "module \"%s\" has neither \"content\" nor "
			    "\"content_base64\"", show(&sh, s, n));
	v = jtext ? jtext : jb64;
	if (!json_is_string(v))
		return fail(err, CODE_INVALID, "module \"%s\": \"%s\" is not a string",
			    show(&sh, s, n), jtext ? "content" : "content_base64");
	if (jtext) {
		m->len = json_string_length(v);
		m->data = dupmem(json_string_value(v), m->len);
		if (!m->data)
			return fail_oom(err);
	} else {
		rc = b64_decode(json_string_value(v), json_string_length(v),
				&m->data, &m->len, &why, &where);
		if (rc == CODE_INTERNAL)
			return fail_oom(err);
		if (rc != CODE_OK)
			return fail(err, CODE_INVALID,
				    "module \"%s\": invalid content_base64: %s "
				    "(at character %zu)", show(&sh, s, n), why,
				    where);
	}
	if (m->len > SIZE_MAX - *total)
		*total = SIZE_MAX;
	else
		*total += m->len;
	if (over_total(lim, *total))
		return fail(err, CODE_TOO_LARGE,
			    "module contents total more than the limit of %zu bytes",
			    lim->max_total);
	return CODE_OK;
}

static int parse_bundle(struct code *c, json_t *root,
			const struct code_limits *lim, struct buf *err)
{
	json_t *jmain = NULL, *jmods = NULL, *v;
	const char *key, *why;
	struct shown sh;
	size_t i, n, klen, total = 0;
	int rc;

	if (!json_is_object(root))
		return fail(err, CODE_INVALID, "the bundle is not a JSON object");
	json_object_keylen_foreach(root, key, klen, v) {
		if (key_is(key, klen, "main"))
			jmain = v;
		else if (key_is(key, klen, "modules"))
			jmods = v;
		else
			return fail(err, CODE_INVALID,
				    "the bundle has unknown key \"%s\" "
				    "(allowed: main, modules)",
				    show(&sh, key, klen));
	}
	if (!jmain)
		return fail(err, CODE_INVALID, "the bundle has no \"main\"");
	if (!json_is_string(jmain))
		return fail(err, CODE_INVALID, "\"main\" is not a string");
	n = json_string_length(jmain);
	why = name_problem(json_string_value(jmain), n);
	if (why)
		return fail(err, CODE_INVALID, "\"main\" (\"%s\") %s",
			    show(&sh, json_string_value(jmain), n), why);
	c->main = dupmem(json_string_value(jmain), n);
	if (!c->main)
		return fail_oom(err);

	if (!jmods)
		return fail(err, CODE_INVALID, "the bundle has no \"modules\"");
	if (!json_is_array(jmods))
		return fail(err, CODE_INVALID, "\"modules\" is not an array");
	n = json_array_size(jmods);
	if (n == 0)
		return fail(err, CODE_INVALID, "\"modules\" is empty");
	if (over_modules(lim, n))
		return fail(err, CODE_TOO_LARGE,
			    "the bundle has %zu modules, over the limit of %zu",
			    n, lim->max_modules);
	c->mods = calloc(n, sizeof(*c->mods));
	if (!c->mods)
		return fail_oom(err);
	for (i = 0; i < n; i++) {
		/* count first so code_release() frees a half-read module */
		c->n = i + 1;
		rc = parse_module(json_array_get(jmods, i), i, &c->mods[i],
				  &total, lim, err);
		if (rc != CODE_OK)
			return rc;
	}
	qsort(c->mods, c->n, sizeof(*c->mods), cmp_mod);
	return check_code(c, err);
}

int code_from_bundle_json(struct code *c, const void *json, size_t len,
			  const struct code_limits *lim, struct buf *err)
{
	json_error_t jerr;
	json_t *root;
	size_t i;
	int rc;

	code_init(c);
	if (json_too_big(len, lim))
		return fail(err, CODE_TOO_LARGE,
			    "the bundle is %zu bytes of JSON, more than any bundle "
			    "within the limit of %zu content bytes can be",
			    len, lim->max_total);
	/*
	 * ALLOW_NUL so a "\u0000" in a string reaches our checks (and their
	 * messages) instead of failing inside jansson; REJECT_DUPLICATES
	 * because a repeated key would silently win.
	 */
	root = json_loadb(json, len,
			  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			  &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return fail_oom(err);
		/* jansson quotes the input near the error: keep it ASCII */
		for (i = 0; jerr.text[i]; i++)
			if (jerr.text[i] < 0x20 || jerr.text[i] > 0x7e)
				jerr.text[i] = '?';
		return fail(err, CODE_INVALID,
			    "the bundle is not valid JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
	}
	rc = parse_bundle(c, root, lim, err);
	json_decref(root);
	return finish(c, rc);
}

/* ---- canonical encoding ------------------------------------------------- */

/* Where the encoding goes: a buffer, or straight into a hash. */
struct sink {
	struct buf *b;
	struct eth_keccak *k;
	int failed;
};

static void put(struct sink *s, const void *p, size_t n)
{
	if (s->k)
		eth_keccak_update(s->k, p, n);
	else if (!s->failed && buf_add(s->b, p, n) < 0)
		s->failed = 1;
}

static void put_be(struct sink *s, uint64_t v, int bytes)
{
	unsigned char b[8];
	int i;

	for (i = bytes - 1; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)v;
	put(s, b, (size_t)bytes);
}

static void emit(const struct code *c, struct sink *s)
{
	size_t i, n;

	put(s, code_magic, CODE_MAGIC_LEN);
	n = c->main ? strlen(c->main) : 0;
	put_be(s, n, 4);
	put(s, c->main, n);
	put_be(s, c->n, 4);
	for (i = 0; i < c->n; i++) {
		const struct code_module *m = &c->mods[i];

		n = strlen(m->name);
		put_be(s, (uint64_t)m->type & 0xff, 1);
		put_be(s, n, 4);
		put(s, m->name, n);
		put_be(s, m->len, 8);
		put(s, m->data, m->len);
	}
}

int code_encode(const struct code *c, struct buf *out)
{
	struct sink s = { out, NULL, 0 };
	size_t i, old = out->len;

	if (!c->main || strlen(c->main) > CODE_NAME_MAX || c->n == 0 ||
	    c->n > CODE_DECODE_MAX_MODULES)
		return log_err("code_encode: not a parsed code");
	for (i = 0; i < c->n; i++) {
		if (strlen(c->mods[i].name) > CODE_NAME_MAX ||
		    (unsigned)c->mods[i].type >= CODE_NTYPES ||
		    (i && strcmp(c->mods[i - 1].name, c->mods[i].name) >= 0))
			return log_err("code_encode: modules not in canonical "
				       "form at index %zu", i);
	}
	emit(c, &s);
	if (s.failed) {
		out->len = old;
		if (out->data)
			out->data[old] = '\0';
		return log_err("code_encode: cannot grow the output buffer");
	}
	return 0;
}

void code_id(const struct code *c, unsigned char id[32])
{
	struct eth_keccak k;
	struct sink s = { NULL, &k, 0 };

	eth_keccak_init(&k);
	emit(c, &s);
	eth_keccak_final(&k, id);
}

int code_id_hex(const struct code *c, struct buf *out)
{
	unsigned char id[32];

	code_id(c, id);
	if (buf_addstr(out, "0x") < 0 || buf_addhex(out, id, sizeof(id)) < 0)
		return log_err("code_id_hex: out of memory");
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

struct reader {
	const unsigned char *p;
	size_t len, off;
};

static int get_bytes(struct reader *r, size_t n, const unsigned char **p)
{
	if (n > r->len - r->off)
		return -1;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

static int get_be(struct reader *r, int bytes, uint64_t *v)
{
	const unsigned char *p;
	int i;

	if (get_bytes(r, (size_t)bytes, &p) < 0)
		return -1;
	*v = 0;
	for (i = 0; i < bytes; i++)
		*v = *v << 8 | p[i];
	return 0;
}

/* a name: u32 length then bytes, checked by the upload rules */
static int get_name(struct reader *r, char **out, struct buf *why)
{
	const unsigned char *p;
	const char *problem;
	struct shown sh;
	uint64_t n;

	if (get_be(r, 4, &n) < 0)
		return fail(why, -1, "truncated name length at offset %zu", r->off);
	if (n == 0 || n > CODE_NAME_MAX)
		return fail(why, -1, "name length %llu at offset %zu out of range",
			    (unsigned long long)n, r->off - 4);
	if (get_bytes(r, (size_t)n, &p) < 0)
		return fail(why, -1, "name of %llu bytes at offset %zu runs past the end",
			    (unsigned long long)n, r->off);
	problem = name_problem((const char *)p, (size_t)n);
	if (problem)
		return fail(why, -1, "name \"%s\" %s", show(&sh, p, (size_t)n),
			    problem);
	*out = dupmem(p, (size_t)n);
	if (!*out)
		return fail(why, -1, "out of memory");
	return 0;
}

static int decode(struct code *c, struct reader *r, struct buf *why)
{
	const unsigned char *p;
	uint64_t count, v;
	size_t i;

	if (get_bytes(r, CODE_MAGIC_LEN, &p) < 0 ||
	    memcmp(p, code_magic, CODE_MAGIC_LEN))
		return fail(why, -1, "bad magic");
	if (get_name(r, &c->main, why) < 0)
		return -1;
	if (get_be(r, 4, &count) < 0)
		return fail(why, -1, "truncated module count");
	/* each module takes at least 1 + 4 + 1 + 8 bytes */
	if (count == 0 || count > CODE_DECODE_MAX_MODULES ||
	    count > (r->len - r->off) / 14)
		return fail(why, -1, "module count %llu impossible here",
			    (unsigned long long)count);
	c->mods = calloc((size_t)count, sizeof(*c->mods));
	if (!c->mods)
		return fail(why, -1, "out of memory");
	for (i = 0; i < count; i++) {
		struct code_module *m = &c->mods[i];

		c->n = i + 1;
		if (get_be(r, 1, &v) < 0)
			return fail(why, -1, "module %zu: truncated type", i);
		if (v >= CODE_NTYPES)
			return fail(why, -1, "module %zu: unknown type %llu", i,
				    (unsigned long long)v);
		m->type = (enum code_module_type)v;
		if (get_name(r, &m->name, why) < 0)
			return -1;
		if (get_be(r, 8, &v) < 0)
			return fail(why, -1, "module %zu: truncated content length", i);
		if (v > r->len - r->off)
			return fail(why, -1, "module %zu: content of %llu bytes "
				    "runs past the end", i, (unsigned long long)v);
		get_bytes(r, (size_t)v, &p);
		m->len = (size_t)v;
		m->data = dupmem(p, m->len);
		if (!m->data)
			return fail(why, -1, "out of memory");
	}
	if (r->off != r->len)
		return fail(why, -1, "%zu trailing bytes", r->len - r->off);
	/* check_code reports unsorted and duplicate names */
	return check_code(c, why) == CODE_OK ? 0 : -1;
}

int code_decode(struct code *c, const void *p, size_t len)
{
	struct reader r = { p, len, 0 };
	struct buf why = BUF_INIT;

	code_init(c);
	if (decode(c, &r, &why) == 0)
		return 0;
	code_release(c);
	log_err("code_decode: invalid stored code (%zu bytes): %s", len,
		buf_cstr(&why));
	buf_release(&why);
	return -1;
}

/* ---- JSON rendering ----------------------------------------------------- */

static int dump_to_buf(const char *p, size_t n, void *data)
{
	return buf_add(data, p, n);
}

static json_t *module_json(const struct code_module *m, struct buf *tmp)
{
	json_t *o, *name, *type, *content;
	const char *field;
	int ok;

	if (is_text_type(m->type)) {
		field = "content";
		content = json_stringn((const char *)m->data, m->len);
	} else {
		field = "content_base64";
		buf_reset(tmp);
		content = b64_encode(tmp, m->data, m->len) < 0 ? NULL :
			json_stringn_nocheck(buf_cstr(tmp), tmp->len);
	}
	name = json_string(m->name);
	type = json_string(code_module_type_name(m->type));
	o = json_object();
	/* json_object_set takes its own reference: drop ours either way */
	ok = o && name && type && content &&
	     !json_object_set(o, "name", name) &&
	     !json_object_set(o, "type", type) &&
	     !json_object_set(o, field, content);
	json_decref(name);
	json_decref(type);
	json_decref(content);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int code_to_json(const struct code *c, struct buf *out)
{
	json_t *root = json_object(), *mods = json_array();
	struct buf tmp = BUF_INIT;
	size_t i, old = out->len;
	int rc = -1;

	if (!root || !mods || !c->main)
		goto out;
	if (json_object_set_new(root, "main", json_string(c->main)) < 0)
		goto out;
	for (i = 0; i < c->n; i++)
		if (json_array_append_new(mods, module_json(&c->mods[i], &tmp)) < 0)
			goto out;
	if (json_object_set(root, "modules", mods) < 0)
		goto out;
	/* key order is insertion order: main, modules; name, type, content */
	rc = json_dump_callback(root, dump_to_buf, out, JSON_COMPACT);
out:
	json_decref(mods);
	json_decref(root);
	buf_release(&tmp);
	if (rc < 0) {
		out->len = old;
		if (out->data)
			out->data[old] = '\0';
		return log_err("code_to_json: cannot render code (%zu modules)",
			       c->n);
	}
	return 0;
}
