#ifndef SANDBOX_SB_CONF_H
#define SANDBOX_SB_CONF_H
/*
 * The sandbox settings of the executor configuration, in one place for the
 * two daemons that own slots (FastCGI handlers: kind "slot"; chain runners:
 * kind "job"), and the isolate-reuse policy.
 */
#include <stddef.h>

#include "conf.h"
#include "sandbox.h"

/* Fill out from c; the strings point into c, which must outlive the slot. */
void sb_config_from_conf(struct sb_config *out, const struct conf *c, const char *kind,
			 size_t max_response);

/*
 * The isolate key for a code run under the node's isolate_reuse policy:
 * id_hex (the id the caller used) when the code may keep its isolate
 * (policy "all", or "opt-in" with opted_in set), else NULL (a new isolate).
 */
const char *sb_reuse_key(const struct conf *c, const char *id_hex, int opted_in);

struct sb_jail;
/* The jail settings of the configuration (checked: the user must resolve). */
int sb_jail_from_conf(const struct conf *c, const char *program, struct sb_jail *j, struct buf *why);

/* At daemon start: 0 when the configured jail works here (or is off), -1 (logged) if not. */
int sb_jail_preflight(const struct conf *c);

#endif
