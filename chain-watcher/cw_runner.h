#ifndef CHAIN_WATCHER_CW_RUNNER_H
#define CHAIN_WATCHER_CW_RUNNER_H
/*
 * A job runner: owns one sandbox slot of kind "job" and runs the chain jobs
 * it claims from the queue (PROTOCOL.md section 4):
 *
 *   claim (BEGIN IMMEDIATE; a 'seen' job of ours, or a 'claimed' one whose
 *   lease ran out because its runner died) -> fetch the code from the code
 *   transaction (cached) -> POST the raw codeInputs to the worker -> error
 *   code 0..5 -> sign SubmitOutput with the enclave key -> 'executed'.
 *
 * The job's clock starts when the watcher stored it (seen_at), not when a
 * runner claims it, so a job re-claimed after a crash keeps its original
 * deadline; a job already past it is answered with error code 4 at once.
 * Everything the runner writes is conditional on still holding the claim,
 * so a job dropped by a reorg meanwhile is left alone.
 */
#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "sandbox.h"

#define CW_MAX_OUTPUT 20480 /* bytes; larger outputs are error code 5 */

enum cw_error_code {
	CW_OK = 0,
	CW_CODE_TX_MISSING = 1,  /* code tx missing or sent to another contract */
	CW_BAD_CALLDATA = 2,
	CW_CODE_LOAD_FAILED = 3,
	CW_DEADLINE = 4,
	CW_OUTPUT_TOO_LARGE = 5,
};

struct cw_runner {
	const struct conf *conf;
	struct db *db;
	struct eth_rpc *rpc;
	const struct eth_key *enclave;
	struct sb_slot slot;
	int have_slot;
	unsigned index;
	char name[48];             /* lease owner: "runner<i>" */
	unsigned char code_contract[20];
};

int cw_runner_init(struct cw_runner *r, const struct conf *c, struct db *db, struct eth_rpc *rpc,
		   const struct eth_key *enclave, unsigned index);
/* Claim and run at most one job: 1 ran one, 0 nothing to do, -1 error (logged). */
int cw_runner_tick(struct cw_runner *r);
void cw_runner_release(struct cw_runner *r);

#endif
