#ifndef FCGI_APP_FA_ERRORS_H
#define FCGI_APP_FA_ERRORS_H
/* How each sandbox outcome is reported over HTTP (one table, unit-tested). */
#include "sandbox.h"

struct fa_error {
	int status;
	const char *code;
	const char *message; /* used when the sandbox gave no text */
};

const struct fa_error *fa_outcome_error(enum sb_outcome o);

#endif
