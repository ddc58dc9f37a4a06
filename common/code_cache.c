/*
 * The per-process LRU of decoded code.  See code_cache.h.
 *
 * A doubly linked recency list (newest first) plus a fixed hash table
 * chained through the entries; keys are keccak outputs (ids, tx hashes), so
 * their first bytes are already uniformly spread and serve as the hash.
 */
#include "code_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define ENTRY_OVERHEAD 256

static size_t bucket_of(const unsigned char key[33])
{
	return ((size_t)key[1] << 8 | key[2]) % CODE_CACHE_BUCKETS;
}

static void make_key(unsigned char out[33], enum code_cache_kind kind, const unsigned char key[32])
{
	out[0] = (unsigned char)kind;
	memcpy(out + 1, key, 32);
}

void code_cache_init(struct code_cache *cc, size_t max_bytes)
{
	memset(cc, 0, sizeof(*cc));
	cc->max_bytes = max_bytes;
}

static void unlink_lru(struct code_cache *cc, struct code_cache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		cc->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		cc->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void push_newest(struct code_cache *cc, struct code_cache_entry *e)
{
	e->older = cc->newest;
	e->newer = NULL;
	if (cc->newest)
		cc->newest->newer = e;
	cc->newest = e;
	if (!cc->oldest)
		cc->oldest = e;
}

static void drop(struct code_cache *cc, struct code_cache_entry *e)
{
	struct code_cache_entry **pp = &cc->bucket[bucket_of(e->key)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	unlink_lru(cc, e);
	cc->bytes -= e->bytes;
	cc->count--;
	code_release(&e->code);
	free(e);
}

void code_cache_release(struct code_cache *cc)
{
	while (cc->oldest)
		drop(cc, cc->oldest);
	code_cache_init(cc, cc->max_bytes);
}

static struct code_cache_entry *find(struct code_cache *cc, const unsigned char k[33])
{
	struct code_cache_entry *e = cc->bucket[bucket_of(k)];

	while (e && memcmp(e->key, k, 33))
		e = e->hnext;
	return e;
}

struct code_cache_entry *code_cache_get(struct code_cache *cc, enum code_cache_kind kind,
					      const unsigned char key[32])
{
	unsigned char k[33];
	struct code_cache_entry *e;

	make_key(k, kind, key);
	e = find(cc, k);
	if (!e) {
		cc->misses++;
		return NULL;
	}
	cc->hits++;
	unlink_lru(cc, e);
	push_newest(cc, e);
	return e;
}

static size_t code_bytes(const struct code *c)
{
	size_t n = ENTRY_OVERHEAD + (c->main ? strlen(c->main) : 0);

	for (size_t i = 0; i < c->n; i++)
		n += c->mods[i].len + strlen(c->mods[i].name) + sizeof(c->mods[i]);
	return n;
}

struct code_cache_entry *code_cache_put(struct code_cache *cc, enum code_cache_kind kind,
					      const unsigned char key[32], struct code *c,
					      const char *id_hex, int reuse)
{
	unsigned char k[33];
	size_t need = code_bytes(c);
	struct code_cache_entry *e;

	make_key(k, kind, key);
	if (need > cc->max_bytes || find(cc, k) || strlen(id_hex) >= sizeof(e->id_hex))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	while (cc->oldest && cc->bytes + need > cc->max_bytes)
		drop(cc, cc->oldest);
	memcpy(e->key, k, sizeof(k));
	e->code = *c;
	code_init(c);
	snprintf(e->id_hex, sizeof(e->id_hex), "%s", id_hex);
	e->reuse = reuse;
	e->bytes = need;
	e->hnext = cc->bucket[bucket_of(k)];
	cc->bucket[bucket_of(k)] = e;
	push_newest(cc, e);
	cc->bytes += need;
	cc->count++;
	return e;
}
