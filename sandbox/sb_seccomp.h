#ifndef SANDBOX_SB_SECCOMP_H
#define SANDBOX_SB_SECCOMP_H
/*
 * The syscall allowlist for jailed processes (libseccomp).  The list was
 * derived by tracing workerd (strace -f) over normal requests, streaming
 * responses, uncaught exceptions, WebAssembly, timers and out-of-memory
 * runs, then reviewed by hand; it lives in sb_seccomp.c and nowhere else.
 * Anything not listed kills the process with SIGSYS; socket() is allowed
 * for AF_UNIX only (other families get EACCES so a probe sees "refused").
 *
 * sb_seccomp_prepare() compiles the filter once, in the slot owner, so
 * each jailed child only loads the ready program (libseccomp's compile
 * costs about 1 ms of the child's start); sb_seccomp_apply() compiles it
 * there when it was not prepared (the failure to prepare is logged once).
 * Both 0 or -1.
 */
int sb_seccomp_prepare(void);
int sb_seccomp_apply(void);
/* How many times this process (or its parent before the fork) compiled the filter: for tests. */
unsigned sb_seccomp_compiles(void);

#endif
