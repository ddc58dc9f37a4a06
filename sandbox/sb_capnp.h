#ifndef SANDBOX_SB_CAPNP_H
#define SANDBOX_SB_CAPNP_H
/*
 * workerd configuration (Cap'n Proto text) for one user code.
 *
 * The worker gets exactly its own modules and nothing else: no bindings, no
 * disk service, and globalOutbound pointed at a network service whose allow
 * list is empty, so fetch() to anywhere fails inside workerd before the
 * kernel-level jail even matters.  Module contents are not inlined: each
 * module i is written next to the config as file "m<i>" and pulled in with
 * `embed`, which keeps binary WASM intact and avoids quoting user bytes into
 * the config.  The listening socket is always handed over with
 * --socket-fd http=3, so the address below is a placeholder workerd never
 * binds.
 */
#include "buf.h"
#include "code.h"

/* Append the config text; module i of c (in c->mods order) is file "m<i>". */
int sb_capnp_config(struct buf *out, const struct code *c, const char *compat_date);

/*
 * Append only the worker: `const NAME :Workerd.Worker = (...);` with module
 * i in file "<file_prefix><i>" and globalOutbound "deny-all" (a service the
 * including config must define).  Pool mode bakes kept isolates' code into
 * its config with it.  0, or -1 when c has no ES-module main.
 */
int sb_capnp_worker(struct buf *out, const char *name, const char *file_prefix, const struct code *c,
		    const char *compat_date);

#endif
