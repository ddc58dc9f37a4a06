#ifndef FCGI_APP_FA_HANDLER_H
#define FCGI_APP_FA_HANDLER_H
/*
 * A pre-forked handler process.  Execution handler i owns sandbox slot i
 * and serves the execution socket; the control handler owns no slot and
 * serves everything else (code store, health, metrics) on the control
 * socket, so those answer even when every slot is busy.
 *
 * Draining: SIGTERM is blocked while a request is served and only unblocked
 * inside ppoll() on the listening socket, so a handler told to stop either
 * stops at once (idle) or finishes its request first; nothing in flight is
 * dropped.  The listening socket is non-blocking: several handlers wake for
 * one connection and those that lose the accept() race go back to waiting.
 */
#include "conf.h"
#include "eth_key.h"
#include "fa_stats.h"

struct fa_handler_args {
	const struct conf *conf;
	int listen_fd;
	int exec;       /* 1 = execution handler owning slot `slot` */
	unsigned slot;
	struct fa_stats *stats;
	const struct eth_key *enclave; /* signs responses and registration */
};

/* Runs until told to stop; returns the process exit status. */
int fa_handler_main(const struct fa_handler_args *a);

#endif
