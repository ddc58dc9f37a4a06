#ifndef FCGI_APP_FA_MASTER_H
#define FCGI_APP_FA_MASTER_H
/*
 * The oyster-fcgi master: owns the listening sockets and the shared stats,
 * pre-forks the handlers and keeps them alive.
 *
 *  - a handler that dies is restarted; one that keeps dying soon after start
 *    is restarted with exponential backoff (100 ms doubling up to 30 s);
 *  - SIGHUP re-reads the config file; if it is valid every handler is told
 *    to stop (SIGTERM: idle ones exit at once, busy ones after their
 *    request) and each is replaced by a new one running the new config as
 *    soon as it has exited, so the slot never has two owners and no request
 *    is dropped (new connections wait in the socket backlog meanwhile);
 *  - SIGTERM/SIGINT drain: handlers finish their requests, then the master
 *    removes the node's cgroups and sockets and exits.  Handlers still busy
 *    after deadline_ms + 5 s are killed.
 */
#include "conf.h"

/* config_path may be NULL (defaults only). */
int fa_master_run(const char *config_path, struct conf *conf);

#endif
