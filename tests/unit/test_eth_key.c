/*
 * Tests for common/eth/eth_key.c: secp256k1 keys, key files, signatures.
 *
 * Published facts: anvil's first default key has address
 * 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 and the well-known public key
 * 0x8318535b...; secret 1 is the generator (address 0x7e5f4552...); the
 * EIP-712 example's "cow" key keccak256("cow") has address 0xcd2a3d9f....
 * Key file refusals each get their own message (missing, cannot open, not
 * a regular file incl. a FIFO that must not hang us, group/other bits,
 * 31/33 bytes, zero key, key >= curve order); generation never overwrites
 * and produces a 0600 file that loads back to the same key.  Signatures:
 * round trip sign -> recover on random digests, v both as 27/28 and 0/1,
 * low s always, and byte-for-byte equality with `cast wallet sign
 * --no-hash` (RFC 6979 makes signatures deterministic), plus addresses of
 * random keys against `cast wallet address`.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/keccak.h"
#include "banned.h"

#define ANVIL0_SECRET "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL0_ADDR "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define ANVIL0_PUB "0x8318535b54105d4a7aae60c08fc45f9687181b4fdfc625bd1a753fa7397fed75" \
	"3547f11ca8696646f2f3acb08e31016afac23e630c5d11f59f61fef57b0d2aa5"
#define ORDER_HEX "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"

/* ---- helpers ---- */

static void hex32(const char *hex, unsigned char out[32])
{
	ck_assert_int_eq(eth_hex_decode(hex, strlen(hex), out, 32, NULL), 0);
}

static const char *cast_path(void)
{
	const char *p = getenv("OYSTER_CAST");

	return p && *p ? p : "node_modules/@foundry-rs/cast-linux-amd64/bin/cast";
}

static int have_cast(void)
{
	if (access(cast_path(), X_OK) == 0)
		return 1;
	fprintf(stderr, "SKIP: cast not found at %s (set OYSTER_CAST)\n",
		cast_path());
	return 0;
}

/* Run a shell command; stdout (trailing whitespace trimmed) into out. */
static int run(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	char chunk[4096];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_reset(out);
	f = popen(cmd.data, "r");
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	st = pclose(f);
	while (out->len && (out->data[out->len - 1] == '\n' ||
			    out->data[out->len - 1] == ' '))
		out->data[--out->len] = '\0';
	buf_release(&cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_eth_key.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	struct buf out = BUF_INIT;

	if (tmpdir[0])
		run(&out, "rm -rf '%s'", tmpdir);
	buf_release(&out);
	tmpdir[0] = '\0';
}

static void path_in_tmp(char *path, size_t n, const char *name)
{
	snprintf(path, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Load path expecting failure with a message containing want. */
static void load_fails(const char *path, const char *want)
{
	struct eth_key k;
	struct buf err = BUF_INIT;

	memset(&k, 0x5a, sizeof(k));
	ck_assert_int_eq(eth_key_load_file(path, &k, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), want) != NULL,
		      "message \"%s\" lacks \"%s\"", buf_cstr(&err), want);
	/* a refused file leaves nothing behind in the key */
	ck_assert_uint_eq(k.secret[0], 0x5a);
	ck_assert_uint_eq(k.secret[31], 0x5a);
	buf_release(&err);
}

/* ---- keys and addresses ---- */

START_TEST(test_known_keys)
{
	struct eth_key k;
	unsigned char s[32];
	char a[ETH_ADDR_HEX_SIZE], p[ETH_PUB_HEX_SIZE];
	struct buf err = BUF_INIT;

	hex32(ANVIL0_SECRET, s);
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a), ANVIL0_ADDR);
	ck_assert_str_eq(eth_pub_hex(k.pub, p), ANVIL0_PUB);
	ck_assert_uint_eq(strlen(p), 130);
	ck_assert_mem_eq(k.secret, s, 32);

	/* from hex, with prefix */
	ck_assert_int_eq(eth_key_from_hex(&k, "0x" ANVIL0_SECRET,
					  strlen("0x" ANVIL0_SECRET), &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a), ANVIL0_ADDR);

	/* secret 1: the generator point */
	memset(s, 0, 32);
	s[31] = 1;
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a),
			 "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
	ck_assert_str_eq(eth_pub_hex(k.pub, p),
			 "0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
			 "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");

	/* EIP-712 example: cow = keccak256("cow") */
	eth_keccak256("cow", 3, s);
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a),
			 "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826");
	ck_assert_uint_eq(err.len, 0);

	/* address parsing: any case, prefix optional, exactly 20 bytes */
	ck_assert_int_eq(eth_address_parse("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
					   42, k.addr, &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a), ANVIL0_ADDR);
	ck_assert_int_eq(eth_address_parse("0xf39f", 6, k.addr, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid string length");
	eth_key_wipe(&k);
	for (size_t i = 0; i < sizeof(k.secret); i++)
		ck_assert_uint_eq(k.secret[i], 0);
	buf_release(&err);
}
END_TEST

START_TEST(test_invalid_secrets)
{
	struct eth_key k;
	unsigned char s[32];
	struct buf err = BUF_INIT;

	memset(s, 0, 32);
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "secret key is zero");

	buf_reset(&err);
	hex32(ORDER_HEX, s); /* n itself */
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "secret key is not below the secp256k1 curve order");
	buf_reset(&err);
	memset(s, 0xff, 32);
	ck_assert_int_eq(eth_key_from_secret(&k, s, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "secret key is not below the secp256k1 curve order");

	/* n - 1 is the largest valid secret */
	hex32(ORDER_HEX, s);
	s[31]--;
	ck_assert_int_eq(eth_key_from_secret(&k, s, NULL), 0);

	buf_reset(&err);
	ck_assert_int_eq(eth_key_from_hex(&k, "0x1234", 6, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "Invalid string length");
	buf_release(&err);
}
END_TEST

/* ---- key files ---- */

START_TEST(test_load_file)
{
	unsigned char s[33], zero[32];
	char path[128], a[ETH_ADDR_HEX_SIZE];
	struct eth_key k;
	struct buf err = BUF_INIT;

	mk_tmpdir();
	hex32(ANVIL0_SECRET, s);
	s[32] = 0;
	memset(zero, 0, sizeof(zero));

	path_in_tmp(path, sizeof(path), "ok600");
	write_file(path, s, 32, 0600);
	ck_assert_int_eq(eth_key_load_file(path, &k, &err), 0);
	ck_assert_str_eq(eth_address_hex(k.addr, a), ANVIL0_ADDR);
	path_in_tmp(path, sizeof(path), "ok400");
	write_file(path, s, 32, 0400);
	ck_assert_int_eq(eth_key_load_file(path, &k, &err), 0);
	ck_assert_uint_eq(err.len, 0);

	path_in_tmp(path, sizeof(path), "missing");
	load_fails(path, "does not exist");

	path_in_tmp(path, sizeof(path), "mode644");
	write_file(path, s, 32, 0644);
	load_fails(path, "accessible by group or others (mode 0644)");
	path_in_tmp(path, sizeof(path), "mode640");
	write_file(path, s, 32, 0640);
	load_fails(path, "accessible by group or others (mode 0640)");
	path_in_tmp(path, sizeof(path), "mode602");
	write_file(path, s, 32, 0602);
	load_fails(path, "accessible by group or others (mode 0602)");

	path_in_tmp(path, sizeof(path), "short");
	write_file(path, s, 31, 0600);
	load_fails(path, "has 31 bytes; it must hold exactly 32 raw bytes");
	path_in_tmp(path, sizeof(path), "long");
	write_file(path, s, 33, 0600);
	load_fails(path, "has 33 bytes");
	path_in_tmp(path, sizeof(path), "empty");
	write_file(path, s, 0, 0600);
	load_fails(path, "has 0 bytes");
	/* a hex text key is 64 or 66 bytes: refused, not misread */
	path_in_tmp(path, sizeof(path), "hextext");
	write_file(path, ANVIL0_SECRET, 64, 0600);
	load_fails(path, "has 64 bytes");

	path_in_tmp(path, sizeof(path), "zero");
	write_file(path, zero, 32, 0600);
	load_fails(path, "does not hold a valid secp256k1 secret key: secret key is zero");
	path_in_tmp(path, sizeof(path), "order");
	hex32(ORDER_HEX, zero);
	write_file(path, zero, 32, 0600);
	load_fails(path, "not below the secp256k1 curve order");

	/* not a regular file: a directory, a FIFO (must not block) */
	load_fails(tmpdir, "is not a regular file");
	path_in_tmp(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	load_fails(path, "is not a regular file");
	load_fails("/dev/null", "is not a regular file");

	/* cannot open: a path through a regular file (works even as root) */
	path_in_tmp(path, sizeof(path), "ok600/sub");
	load_fails(path, "cannot open key file");
	load_fails(path, "Not a directory");

	/* a symlink to a good file is followed (packagers may link it) */
	{
		char link[128], target[128];

		path_in_tmp(target, sizeof(target), "ok600");
		path_in_tmp(link, sizeof(link), "link");
		ck_assert_int_eq(symlink(target, link), 0);
		ck_assert_int_eq(eth_key_load_file(link, &k, &err), 0);
	}
	eth_key_wipe(&k);
	buf_release(&err);
	rm_tmpdir();
}
END_TEST

/*
 * Permission denied: as an unprivileged user a mode-0000 file; as root
 * (which bypasses modes) a child that drops to nobody first.
 */
START_TEST(test_load_file_unreadable)
{
	unsigned char s[32];
	char path[128];
	pid_t pid;
	int st;

	mk_tmpdir();
	hex32(ANVIL0_SECRET, s);
	path_in_tmp(path, sizeof(path), "noperm");
	write_file(path, s, 32, 0000);
	if (geteuid() != 0) {
		load_fails(path, "cannot open key file");
		load_fails(path, "Permission denied");
	} else {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct eth_key k;
			struct buf err = BUF_INIT;
			int ok;

			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(3);
			ok = eth_key_load_file(path, &k, &err) == -1 &&
			     strstr(buf_cstr(&err), "cannot open key file") &&
			     strstr(buf_cstr(&err), "Permission denied");
			if (!ok)
				fprintf(stderr, "unexpected: %s\n", buf_cstr(&err));
			_exit(ok ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
	rm_tmpdir();
}
END_TEST

START_TEST(test_generate_file)
{
	char path[128], path2[128];
	struct eth_key gen, loaded, gen2;
	struct buf err = BUF_INIT;
	struct stat st;
	unsigned char before[32];
	int fd;

	mk_tmpdir();
	path_in_tmp(path, sizeof(path), "id.sec");
	ck_assert_int_eq(eth_key_generate_file(path, &gen, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	ck_assert_int_eq(eth_key_load_file(path, &loaded, &err), 0);
	ck_assert_mem_eq(loaded.secret, gen.secret, 32);
	ck_assert_mem_eq(loaded.addr, gen.addr, 20);
	ck_assert_mem_eq(loaded.pub, gen.pub, 64);

	/* refuses to overwrite; the existing key is untouched */
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(read(fd, before, 32), 32);
	close(fd);
	ck_assert_int_eq(eth_key_generate_file(path, &gen2, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "already exists; refusing to overwrite"),
		      "%s", buf_cstr(&err));
	ck_assert_int_eq(eth_key_load_file(path, &loaded, NULL), 0);
	ck_assert_mem_eq(loaded.secret, before, 32);

	/* a second key is a different key; key argument may be NULL */
	path_in_tmp(path2, sizeof(path2), "id2.sec");
	ck_assert_int_eq(eth_key_generate_file(path2, NULL, NULL), 0);
	ck_assert_int_eq(eth_key_load_file(path2, &gen2, NULL), 0);
	ck_assert_mem_ne(gen2.secret, gen.secret, 32);

	/* restrictive umask: still exactly 0600 */
	{
		mode_t old = umask(0777);

		path_in_tmp(path2, sizeof(path2), "id3.sec");
		ck_assert_int_eq(eth_key_generate_file(path2, NULL, NULL), 0);
		umask(old);
		ck_assert_int_eq(stat(path2, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, 0600);
	}

	/* a dangling symlink is not followed into creating its target */
	path_in_tmp(path2, sizeof(path2), "dangling");
	{
		char target[128];

		path_in_tmp(target, sizeof(target), "target");
		ck_assert_int_eq(symlink(target, path2), 0);
		buf_reset(&err);
		ck_assert_int_eq(eth_key_generate_file(path2, NULL, &err), -1);
		ck_assert_int_eq(access(target, F_OK), -1);
	}

	/* missing directory */
	path_in_tmp(path2, sizeof(path2), "nodir/id.sec");
	buf_reset(&err);
	ck_assert_int_eq(eth_key_generate_file(path2, NULL, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "cannot create key file"), "%s",
		      buf_cstr(&err));
	eth_key_wipe(&gen);
	eth_key_wipe(&gen2);
	eth_key_wipe(&loaded);
	buf_release(&err);
	rm_tmpdir();
}
END_TEST

/* ---- signatures ---- */

static const unsigned char half_order[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

START_TEST(test_sign_recover_roundtrip)
{
	struct eth_key k;
	unsigned char s[32], d[32], sig[65], sig2[65], addr[20];
	struct buf err = BUF_INIT;
	int round, seen27 = 0, seen28 = 0;

	srand(99);
	for (round = 0; round < 200; round++) {
		for (int i = 0; i < 32; i++) {
			s[i] = (unsigned char)rand();
			d[i] = (unsigned char)rand();
		}
		if (eth_key_from_secret(&k, s, NULL) < 0)
			continue;
		ck_assert_int_eq(eth_sign_digest(&k, d, sig), 0);
		ck_assert(sig[64] == 27 || sig[64] == 28);
		seen27 |= sig[64] == 27;
		seen28 |= sig[64] == 28;
		/* low s */
		ck_assert_int_le(memcmp(sig + 32, half_order, 32), 0);
		/* deterministic */
		ck_assert_int_eq(eth_sign_digest(&k, d, sig2), 0);
		ck_assert_mem_eq(sig, sig2, 65);
		ck_assert_int_eq(eth_recover(d, sig, addr, &err), 0);
		ck_assert_mem_eq(addr, k.addr, 20);
		/* v as 0/1 */
		sig2[64] = (unsigned char)(sig[64] - 27);
		ck_assert_int_eq(eth_recover(d, sig2, addr, &err), 0);
		ck_assert_mem_eq(addr, k.addr, 20);
		/* the other parity recovers someone else (or nothing) */
		sig2[64] = (unsigned char)(sig[64] == 27 ? 28 : 27);
		if (eth_recover(d, sig2, addr, NULL) == 0)
			ck_assert_mem_ne(addr, k.addr, 20);
		/* another digest recovers someone else */
		d[0] ^= 1;
		if (eth_recover(d, sig, addr, NULL) == 0)
			ck_assert_mem_ne(addr, k.addr, 20);
	}
	ck_assert(seen27 && seen28);
	ck_assert_uint_eq(err.len, 0);
	eth_key_wipe(&k);
	buf_release(&err);
}
END_TEST

START_TEST(test_recover_rejects)
{
	struct eth_key k;
	unsigned char s[32], d[32], sig[65], bad[65], addr[20];
	struct buf err = BUF_INIT;

	hex32(ANVIL0_SECRET, s);
	ck_assert_int_eq(eth_key_from_secret(&k, s, NULL), 0);
	memset(d, 0x11, 32);
	ck_assert_int_eq(eth_sign_digest(&k, d, sig), 0);

	memcpy(bad, sig, 65);
	bad[64] = 29;
	ck_assert_int_eq(eth_recover(d, bad, addr, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "invalid signature recovery byte v=29");
	bad[64] = 2;
	buf_reset(&err);
	ck_assert_int_eq(eth_recover(d, bad, addr, &err), -1);

	/* r = 0, s = 0: no public key */
	memcpy(bad, sig, 65);
	memset(bad, 0, 32);
	buf_reset(&err);
	ck_assert_int_eq(eth_recover(d, bad, addr, &err), -1);
	memcpy(bad, sig, 65);
	memset(bad + 32, 0, 32);
	ck_assert_int_eq(eth_recover(d, bad, addr, NULL), -1);
	/* s >= n */
	memcpy(bad, sig, 65);
	hex32(ORDER_HEX, bad + 32);
	buf_reset(&err);
	ck_assert_int_eq(eth_recover(d, bad, addr, &err), -1);
	ck_assert_str_eq(buf_cstr(&err), "invalid signature: r or s not below the curve order");
	memset(bad + 32, 0xff, 32);
	ck_assert_int_eq(eth_recover(d, bad, addr, NULL), -1);
	eth_key_wipe(&k);
	buf_release(&err);
}
END_TEST

/* Our signatures and addresses are byte-identical to foundry's. */
START_TEST(test_cast_cross_check)
{
	struct eth_key k;
	unsigned char s[32], d[32], sig[65];
	char sh[ETH_SIG_HEX_SIZE], a[ETH_ADDR_HEX_SIZE], kh[67], dh[67];
	struct buf out = BUF_INIT;
	int round;

	if (!have_cast())
		return;
	srand(4242);
	for (round = 0; round < 6; round++) {
		for (int i = 0; i < 32; i++) {
			s[i] = (unsigned char)rand();
			d[i] = (unsigned char)rand();
		}
		if (round == 0)
			hex32(ANVIL0_SECRET, s);
		ck_assert_int_eq(eth_key_from_secret(&k, s, NULL), 0);
		eth_hex_str(kh, sizeof(kh), s, 32);
		eth_hex_str(dh, sizeof(dh), d, 32);
		ck_assert_int_eq(eth_sign_digest(&k, d, sig), 0);
		eth_sig_hex(sig, sh);

		ck_assert_int_eq(run(&out, "%s wallet sign --no-hash --private-key %s %s",
				     cast_path(), kh, dh), 0);
		ck_assert_str_eq(out.data, sh);
		ck_assert_int_eq(run(&out, "%s wallet address --private-key %s | tr A-F a-f",
				     cast_path(), kh), 0);
		ck_assert_str_eq(out.data, eth_address_hex(k.addr, a));
		ck_assert_int_eq(run(&out, "%s wallet verify --no-hash --address %s %s %s",
				     cast_path(), a, dh, sh), 0);
		/* and cast refuses it for another address */
		ck_assert_int_ne(run(&out, "%s wallet verify --no-hash --address %s %s %s 2>/dev/null",
				     cast_path(), "0x0000000000000000000000000000000000000001",
				     dh, sh), 0);
	}
	eth_key_wipe(&k);
	buf_release(&out);
}
END_TEST

/* The key's private home: the process keeps it, a forked child sees zeros,
 * and the original copy is wiped. */
START_TEST(test_private_move)
{
	struct eth_key k, zero, *p;
	struct buf err = BUF_INIT;
	unsigned char secret[32];
	int st, pfd[2];
	pid_t pid;

	memset(secret, 0x11, sizeof(secret));
	ck_assert_int_eq(eth_key_from_secret(&k, secret, &err), 0);
	memset(&zero, 0, sizeof(zero));
	p = eth_key_private_move(&k);
	ck_assert_ptr_nonnull(p);
	ck_assert(!memcmp(&k, &zero, sizeof(k)));
	ck_assert(!memcmp(p->secret, secret, sizeof(secret)));
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsigned char ok = !memcmp(p, &zero, sizeof(zero));
		ssize_t w = write(pfd[1], &ok, 1);
		_exit(w == 1 ? 0 : 1);
	}
	{
		unsigned char child_saw_zeros = 0;
		ck_assert_int_eq(read(pfd[0], &child_saw_zeros, 1), 1);
		ck_assert_int_eq(child_saw_zeros, 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(!memcmp(p->secret, secret, sizeof(secret)));
	close(pfd[0]);
	close(pfd[1]);
	eth_key_private_free(p);
	eth_key_private_free(NULL);
	buf_release(&err);
}
END_TEST

static Suite *key_suite(void)
{
	Suite *s = suite_create("eth_key");
	TCase *tc = tcase_create("keys");
	TCase *tf = tcase_create("files");
	TCase *ts = tcase_create("signatures");

	tcase_add_test(tc, test_known_keys);
	tcase_add_test(tc, test_invalid_secrets);
	tcase_add_test(tc, test_private_move);
	tcase_add_test(tf, test_load_file);
	tcase_add_test(tf, test_load_file_unreadable);
	tcase_add_test(tf, test_generate_file);
	tcase_set_timeout(ts, 120);
	tcase_add_test(ts, test_sign_recover_roundtrip);
	tcase_add_test(ts, test_recover_rejects);
	tcase_add_test(ts, test_cast_cross_check);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tf);
	suite_add_tcase(s, ts);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(key_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
