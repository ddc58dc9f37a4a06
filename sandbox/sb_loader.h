#ifndef SANDBOX_SB_LOADER_H
#define SANDBOX_SB_LOADER_H
/*
 * The pool mode's loader worker: its workerd config, its JavaScript source
 * (sandbox/sb_loader.js, built into the binary so the installed daemon
 * needs no extra file), and the request envelope it expects: the user's
 * request (path, headers; method in x-oyster-pool-method) carrying the code
 * in its canonical encoding ahead of the user's body, or for a kept isolate
 * whose code the loader has, the user's request alone.  See sb_loader.js
 * for the protocol and sb_pool.c for its use.
 */
#include "buf.h"
#include "code.h"
#include "sandbox.h"
#include "sb_bake.h"

#define SB_LOADER_CTL_PREFIX "x-oyster-pool-"
#define SB_LOADER_OUTCOME "x-oyster-pool-outcome"

/* The loader's source text (NUL-terminated). */
const char *sb_loader_source(void);

/*
 * Append the workerd config (capnp text) that serves loader.js on socket
 * "http" and, when bake is not NULL, each code of the set as service and
 * socket "b<i>" (sb_bake.h).  token marks the loader's own answers
 * (SB_LOADER_OUTCOME is "TOKEN KIND"); it must be a secret of the slot
 * owner's, without spaces.
 */
int sb_loader_config(struct buf *out, const char *compat_date, const char *token,
		     const struct sb_bake *bake);

/*
 * Append the HTTP request for a baked worker: the user's request, with
 * headers named x-oyster-pool-* dropped as for the loader.
 */
int sb_loader_direct_request(struct buf *out, const struct sb_request *req);

/*
 * The requests below ask to keep the connection: the slot owner reuses it
 * (sb_pool.c).
 *
 * Append the HTTP request for the loader.  The user's headers named
 * x-oyster-pool-* are dropped (they are ours); isolate_key may be NULL;
 * encoded is c's canonical encoding when the caller has it (NULL: c is
 * encoded here).
 * with_code = 0 (only with a key) leaves the code out: the user's request
 * goes as it is, for an isolate whose code the loader was given before.
 * 0, or -1 when a header or the key cannot be carried (CR/LF) or the code
 * cannot be encoded.
 */
int sb_loader_request(struct buf *out, const struct code *c, const struct buf *encoded,
		      const char *isolate_key, int with_code, const struct sb_request *req);

/*
 * A prepared isolate (sb_loader.js): append the start of the loader
 * request that carries `encoded` (a code in its canonical encoding) as the
 * first chunk of a chunked body, which stays open; then, for the request
 * it is used for, append the rest: that request as one more chunk (the
 * text sb_loader_direct_request makes) and the end of the body.  0 or -1.
 */
int sb_loader_prepare_request(struct buf *out, const struct buf *encoded);
int sb_loader_prepared_rest(struct buf *out, const struct sb_request *req);

#endif
