#ifndef COMMON_CODE_H
#define COMMON_CODE_H
/*
 * Code bundles: what a user uploads to run in workerd.
 *
 * A code is a main module name plus a set of named modules (ES modules,
 * WebAssembly, text, data, JSON).  It arrives in one of two forms:
 *
 *   - a raw JavaScript ES module (Content-Type application/javascript),
 *     which is exactly the bundle {"main": "main.js", "modules":
 *     [{"name": "main.js", "type": "esModule", "content": <source>}]};
 *   - a JSON bundle:
 *       {"main": "index.js",
 *        "modules": [{"name": "index.js", "type": "esModule",
 *                     "content": "import w from 'add.wasm'; ..."},
 *                    {"name": "add.wasm", "type": "wasm",
 *                     "content_base64": "AGFzbQEAAAA..."}]}
 *     Each module has exactly one of "content" (the UTF-8 text itself) or
 *     "content_base64" (RFC 4648 standard alphabet, '=' padding required,
 *     no whitespace, zero trailing bits), for any type.
 *
 * Parsing is strict because the result becomes file names, capnp strings
 * and a content address: unknown keys are rejected; module names are
 * 1..255 bytes of [A-Za-z0-9._-] and '/', with no leading or trailing '/',
 * no empty, "." or ".." path segment; names are unique; main must name an
 * esModule with non-empty content; esModule/text/json content must be valid
 * UTF-8 without NUL (capnp Text cannot carry NUL) and wasm content must start
 * with the "\0asm" magic.  Whether the JS or JSON inside parses is left to
 * workerd, whose error text is more useful than ours would be.  Errors are the user's, so parsers do
 * not log: they append one human-readable sentence to err and return
 * CODE_INVALID (-1), or CODE_TOO_LARGE (-2) when a limit is exceeded (the
 * HTTP layer maps these to 400 and 413).  Running out of memory is the
 * server's problem: it is logged and reported as CODE_INTERNAL (-3).
 *
 * After a successful parse or decode, mods is sorted by name (bytewise),
 * every data buffer is NUL-terminated (data[len] == 0, not counted in len)
 * so text modules can be handed to C string APIs, and code_release() frees
 * everything.  On failure the struct is left empty (as after code_init()).
 *
 * Canonical encoding (what is stored in SQLite and what the code id hashes):
 *
 *   "OYSTERCODE1\n"
 *   u32 BE main name length, main name
 *   u32 BE module count
 *   per module, in name order:
 *     u8 type (enum code_module_type value), u32 BE name length, name,
 *     u64 BE content length, content
 *
 * The same code always encodes to the same bytes whatever the module order
 * or content encoding (content vs content_base64) it was uploaded with, so
 * the code id, keccak256 of the encoding, is a content address.
 * code_decode() treats its input as untrusted (a corrupted or tampered
 * database) and applies the same validation as the parsers, except the
 * caller's size limits.
 */
#include <stddef.h>

#include "buf.h"

/* Values are part of the canonical encoding: never renumber. */
enum code_module_type {
	CODE_ESMODULE = 0,
	CODE_WASM = 1,
	CODE_TEXT = 2,
	CODE_DATA = 3,
	CODE_JSON = 4,
};

struct code_module {
	char *name;
	enum code_module_type type;
	unsigned char *data;	/* len bytes, plus a NUL at data[len] */
	size_t len;
};

struct code {
	char *main;
	struct code_module *mods;	/* sorted by name after parse/decode */
	size_t n;
};

struct code_limits {
	size_t max_total;	/* sum of module content lengths; 0 = none */
	size_t max_modules;	/* 0 = none */
};

/* Return values of the parsers. */
#define CODE_OK 0
#define CODE_INVALID (-1)
#define CODE_TOO_LARGE (-2)
#define CODE_INTERNAL (-3)

#define CODE_NAME_MAX 255
#define CODE_MAIN_JS "main.js"
/* Hard bound on the module count accepted by code_decode(). */
#define CODE_DECODE_MAX_MODULES 65536

void code_init(struct code *c);
void code_release(struct code *c);

/*
 * Parse a raw JS module (the single-module form).  lim may be NULL for no
 * limits; err may be NULL.  Returns CODE_OK, CODE_INVALID, CODE_TOO_LARGE or
 * CODE_INTERNAL; on failure one sentence is appended to err.
 */
int code_from_js(struct code *c, const void *src, size_t len,
		 const struct code_limits *lim, struct buf *err);
/* Parse a JSON bundle; same conventions as code_from_js(). */
int code_from_bundle_json(struct code *c, const void *json, size_t len,
			  const struct code_limits *lim, struct buf *err);

/*
 * Canonical binary encoding, appended to out.  Returns 0, or -1 (logged) if
 * out cannot grow or c is not in canonical form (mods unsorted/duplicate).
 */
int code_encode(const struct code *c, struct buf *out);
/* Decode untrusted bytes; 0 or -1 (logged, c left empty). */
int code_decode(struct code *c, const void *p, size_t len);

/*
 * keccak256 of the canonical encoding, streamed (no allocation, cannot
 * fail).  Meaningful for parsed or decoded codes; a hand-built code whose
 * mods are not sorted hashes in its own order, which code_encode() refuses.
 */
void code_id(const struct code *c, unsigned char id[32]);
/* Append "0x" + 64 lowercase hex digits of the id; 0 or -1. */
int code_id_hex(const struct code *c, struct buf *out);

/*
 * Append the JSON bundle form (esModule/text/json as "content", wasm/data as
 * "content_base64"); parsing it again gives the same code id.  0 or -1.
 */
int code_to_json(const struct code *c, struct buf *out);

/* "esModule", "wasm", "text", "data", "json" ("unknown" otherwise). */
const char *code_module_type_name(enum code_module_type t);

#endif
