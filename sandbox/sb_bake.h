#ifndef SANDBOX_SB_BAKE_H
#define SANDBOX_SB_BAKE_H
/*
 * Pool mode's baked codes: the kept-isolate codes a slot's warm workerd
 * serves directly, each as a worker of its own in the workerd config with
 * a socket of its own, instead of through the loader worker.
 *
 * Why: a request through the loader crosses two isolates (the loader's
 * JavaScript builds the user's request, workerLoader hands it to the kept
 * isolate, the answer comes back through the loader), which costs more
 * than the user's code for a small function.  A baked worker is what
 * process mode runs, kept warm: same config (sb_capnp.c), same modules,
 * same empty env and deny-all outbound, so nothing changes for the code but
 * the time.
 *
 * The set belongs to the slot and outlives its workerds: a code joins it
 * after it ran (and so loaded) several times through the loader, the slot
 * owner then replaces the workerd with one whose config bakes the set, and
 * every later workerd of the slot bakes it too.  A workerd that does not
 * start with a newly baked code refuses that code for good (it keeps
 * running through the loader); one that does not start otherwise drops the
 * whole set (its codes may be baked again later).  A full set only takes a new code in place of one unused for
 * SB_BAKE_STALE requests of the slot, so two codes cannot make the slot
 * restart its workerd back and forth.
 */
#include <stdint.h>

#include "buf.h"
#include "code.h"

#define SB_BAKE_MAX 4        /* baked codes per slot */
#define SB_BAKE_KEY_MAX 80   /* a key (code id) fits, NUL included */
#define SB_BAKE_AFTER 3      /* loader runs of a code before it is baked */
#define SB_BAKE_STALE 1000   /* slot requests without use before a baked code may go */
#define SB_BAKE_REFUSED 8    /* keys remembered as not bakeable */

struct sb_bake_entry {
	char key[SB_BAKE_KEY_MAX]; /* "" = free */
	struct buf worker;         /* `const b<i> :Workerd.Worker = (...);` */
	size_t nmods;              /* its module files b<i>m<j> in the slot directory */
	uint64_t last_used;        /* sb_bake.clock at its last request */
	int fresh;                 /* joined since the last workerd that started */
};

struct sb_bake {
	struct sb_bake_entry e[SB_BAKE_MAX];
	char refused[SB_BAKE_REFUSED][SB_BAKE_KEY_MAX];
	unsigned nrefused;
	uint64_t clock;            /* the slot's requests */
};

void sb_bake_init(struct sb_bake *b);
void sb_bake_release(struct sb_bake *b);

/* The entry baking key, or -1. */
int sb_bake_find(const struct sb_bake *b, const char *key);

/* Count a request of the slot; with i >= 0, one served by entry i. */
void sb_bake_tick(struct sb_bake *b, int i);

/*
 * key's code c ran through the loader and loaded, uses times in this
 * workerd: take it into the set when it is due and there is room (writing
 * its modules into dir).  The entry it took, or -1 (not due, refused, no
 * room, or the files could not be written: logged).
 */
int sb_bake_offer(struct sb_bake *b, const char *dir, const char *key, const struct code *c,
		  const char *compat_date, unsigned uses);

/*
 * A workerd with this set did not start: refuse the fresh entries, or drop
 * every entry when none was fresh.  Returns how many were dropped.
 */
unsigned sb_bake_refuse(struct sb_bake *b, const char *dir);

/* A workerd with this set started: no entry is fresh any more. */
void sb_bake_settle(struct sb_bake *b);

#endif
