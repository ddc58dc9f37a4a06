/* Pool mode's baked codes.  See sb_bake.h. */
#include "sb_bake.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sb_capnp.h"
#include "sb_internal.h"
#include "banned.h"

void sb_bake_init(struct sb_bake *b)
{
	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		buf_init(&b->e[i].worker);
}

void sb_bake_release(struct sb_bake *b)
{
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		buf_release(&b->e[i].worker);
}

int sb_bake_find(const struct sb_bake *b, const char *key)
{
	if (!key || !key[0])
		return -1;
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		if (!strcmp(b->e[i].key, key))
			return (int)i;
	return -1;
}

void sb_bake_tick(struct sb_bake *b, int i)
{
	b->clock++;
	if (i >= 0 && i < SB_BAKE_MAX)
		b->e[i].last_used = b->clock;
}

static int refused(const struct sb_bake *b, const char *key)
{
	unsigned n = b->nrefused < SB_BAKE_REFUSED ? b->nrefused : SB_BAKE_REFUSED;

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(b->refused[i], key))
			return 1;
	return 0;
}

/* Empty entry i and remove its module files. */
static void drop(struct sb_bake_entry *e, unsigned i, const char *dir)
{
	for (size_t j = 0; j < e->nmods; j++) {
		char path[700];

		snprintf(path, sizeof(path), "%.600s/b%um%zu", dir, i, j);
		unlink(path);
	}
	e->key[0] = '\0';
	e->nmods = 0;
	e->fresh = 0;
	buf_reset(&e->worker);
}

/* A free entry, or one unused for SB_BAKE_STALE requests; -1 when none. */
static int room(const struct sb_bake *b)
{
	int stale = -1;

	for (unsigned i = 0; i < SB_BAKE_MAX; i++) {
		if (!b->e[i].key[0])
			return (int)i;
		if (b->clock - b->e[i].last_used >= SB_BAKE_STALE &&
		    (stale < 0 || b->e[i].last_used < b->e[stale].last_used))
			stale = (int)i;
	}
	return stale;
}

int sb_bake_offer(struct sb_bake *b, const char *dir, const char *key, const struct code *c,
		  const char *compat_date, unsigned uses)
{
	char name[32], prefix[16];
	struct sb_bake_entry *e;
	int i;

	if (uses < SB_BAKE_AFTER || !key || !key[0] || strlen(key) >= SB_BAKE_KEY_MAX ||
	    sb_bake_find(b, key) >= 0 || refused(b, key) || (i = room(b)) < 0)
		return -1;
	e = &b->e[i];
	if (e->key[0])
		log_msg(LOG_DEBUG, "baked code %s makes room for %s (unused for %llu requests)", e->key, key,
			(unsigned long long)(b->clock - e->last_used));
	drop(e, (unsigned)i, dir);
	snprintf(name, sizeof(name), "b%d", i);
	snprintf(prefix, sizeof(prefix), "b%dm", i);
	if (sb_capnp_worker(&e->worker, name, prefix, c, compat_date) < 0)
		goto fail;
	for (size_t j = 0; j < c->n; j++) {
		char file[48];

		snprintf(file, sizeof(file), "%s%zu", prefix, j);
		e->nmods = j + 1;
		if (sb_write_file(dir, file, c->mods[j].data, c->mods[j].len) < 0)
			goto fail;
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->fresh = 1;
	e->last_used = b->clock;
	return i;
fail:
	log_err("cannot bake code %s; it keeps running through the loader", key);
	drop(e, (unsigned)i, dir);
	snprintf(b->refused[b->nrefused++ % SB_BAKE_REFUSED], SB_BAKE_KEY_MAX, "%s", key);
	return -1;
}

unsigned sb_bake_refuse(struct sb_bake *b, const char *dir)
{
	unsigned fresh = 0, n = 0;

	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		fresh += b->e[i].key[0] && b->e[i].fresh;
	for (unsigned i = 0; i < SB_BAKE_MAX; i++) {
		struct sb_bake_entry *e = &b->e[i];

		if (!e->key[0] || (fresh && !e->fresh))
			continue;
		log_msg(LOG_WARN, "a workerd did not start with code %s baked in; it runs through "
			"the loader%s", e->key, e->fresh ? " from now on" : " until it is due again");
		/* A new code is suspect; old ones started before, so the
		 * failure may not be theirs: they may come back. */
		if (e->fresh)
			snprintf(b->refused[b->nrefused++ % SB_BAKE_REFUSED], SB_BAKE_KEY_MAX, "%s", e->key);
		drop(e, i, dir);
		n++;
	}
	return n;
}

void sb_bake_settle(struct sb_bake *b)
{
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		b->e[i].fresh = 0;
}
