#ifndef COMMON_ETH_ETH_RPC_INT_H
#define COMMON_ETH_ETH_RPC_INT_H
/*
 * The JSON-RPC client's parts (the design is in eth_rpc.h):
 *   eth_rpc.c        transport: attempts, retries, deadlines
 *   eth_rpc_reply.c  the reply envelope and strict hex parsing
 *   eth_rpc_calls.c  typed calls and log decoding
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "eth/eth_rpc.h"

/* eth_rpc.c */
void rpc_err_reset(struct eth_rpc_error *e);
int rpc_err_set(struct eth_rpc_error *e, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* eth_rpc_reply.c */
int rpc_quantity_parse(const json_t *v, uint64_t *out, const char **why);
int rpc_data_parse_fixed(const json_t *v, unsigned char *out, size_t n, const char **why);
int rpc_data_parse_buf(const json_t *v, struct buf *b, size_t max, const char **why);
json_t *rpc_json_hex_data(const unsigned char *p, size_t n);
json_t *rpc_json_hex_quantity(uint64_t v);

#endif
