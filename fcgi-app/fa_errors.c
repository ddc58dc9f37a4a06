#include "fa_errors.h"

#include "banned.h"

static const struct fa_error table[] = {
	[SB_OK] = { 200, "OK", "ok" },
	[SB_TIMEOUT] = { 504, "EXECUTION_TIMEOUT", "execution exceeded its deadline" },
	[SB_OOM] = { 500, "OUT_OF_MEMORY", "memory limit exceeded" },
	[SB_LOAD_FAILED] = { 422, "CODE_LOAD_FAILED", "code failed to load" },
	[SB_EXCEPTION] = { 500, "WORKER_EXCEPTION", "uncaught exception in the worker" },
	[SB_CRASHED] = { 502, "WORKER_CRASHED", "workerd crashed" },
	[SB_TOO_LARGE] = { 502, "RESPONSE_TOO_LARGE", "response larger than max_response_bytes" },
	[SB_INTERNAL] = { 500, "INTERNAL_ERROR", "the executor failed to run the code" },
};

const struct fa_error *fa_outcome_error(enum sb_outcome o)
{
	if ((unsigned)o >= sizeof(table) / sizeof(table[0]))
		return &table[SB_INTERNAL];
	return &table[o];
}
