/*
 * oysterctl: the admin tool.  Subcommands that touch keys run locally and
 * never print or log a secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "eth_hex.h"
#include "eth_key.h"
#include "log.h"
#include "version.h"
#include "banned.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: oysterctl COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  keygen --out FILE   write a new enclave key (32-byte secp256k1 secret, mode 0600);\n"
		"                      refuses to overwrite an existing file; prints its address\n"
		"  address FILE        print the enclave address and public key of a key file\n"
		"  version             print the version\n"
		"  help                print this help\n"
		"\n"
		"See oysterctl(1).\n");
}

static int cmd_keygen(int argc, char **argv)
{
	struct eth_key k;
	struct buf err = BUF_INIT;
	const char *out = NULL;
	char addr[ETH_HEX_STR_SIZE(20)];

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strncmp(argv[i], "--out=", 6))
			out = argv[i] + 6;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "oysterctl keygen: --out FILE is required\n");
		return 2;
	}
	if (eth_key_generate_file(out, &k, &err) < 0) {
		fprintf(stderr, "oysterctl keygen: %s\n", buf_cstr(&err));
		buf_release(&err);
		return 1;
	}
	printf("enclave_address %s\n", eth_hex_str(addr, sizeof(addr), k.addr, 20));
	eth_key_wipe(&k);
	buf_release(&err);
	return 0;
}

static int cmd_address(int argc, char **argv)
{
	struct eth_key k;
	struct buf err = BUF_INIT;
	char addr[ETH_HEX_STR_SIZE(20)], pub[ETH_HEX_STR_SIZE(64)];

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (eth_key_load_file(argv[0], &k, &err) < 0) {
		fprintf(stderr, "oysterctl address: %s\n", buf_cstr(&err));
		buf_release(&err);
		return 1;
	}
	printf("enclave_address %s\nenclave_public_key %s\n",
	       eth_hex_str(addr, sizeof(addr), k.addr, 20), eth_hex_str(pub, sizeof(pub), k.pub, 64));
	eth_key_wipe(&k);
	buf_release(&err);
	return 0;
}

int main(int argc, char **argv)
{
	log_set_component("oysterctl");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "keygen"))
		return cmd_keygen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "address"))
		return cmd_address(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("oysterctl %s\n", OYSTER_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "oysterctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
