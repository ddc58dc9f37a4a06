/*
 * secp256k1 keys, key files and recoverable signatures; see eth_key.h.
 */
#include "eth/eth_key.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eth/eth_hex.h"
#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static int fill_random(unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1; /* errno set; the caller reports */
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void ctx_create(void)
{
	unsigned char seed[32];
	secp256k1_context *c;

	c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (!c)
		return;
	/* blinding only: a context without it still signs correctly */
	if (fill_random(seed, sizeof(seed)) == 0 &&
	    !secp256k1_context_randomize(c, seed))
		log_msg(LOG_WARN, "secp256k1: context randomization failed");
	explicit_bzero(seed, sizeof(seed));
	ctx = c;
}

static secp256k1_context *get_ctx(void)
{
	pthread_once(&ctx_once, ctx_create);
	if (!ctx)
		log_err("secp256k1: cannot create context");
	return ctx;
}

void eth_pub_to_address(const unsigned char pub[64], unsigned char addr[20])
{
	unsigned char h[32];

	eth_keccak256(pub, 64, h);
	memcpy(addr, h + 12, 20);
}

static int pubkey_to_xy(secp256k1_context *c, const secp256k1_pubkey *pk,
			unsigned char pub[64])
{
	unsigned char ser[65];
	size_t len = sizeof(ser);

	if (!secp256k1_ec_pubkey_serialize(c, ser, &len, pk,
					   SECP256K1_EC_UNCOMPRESSED) ||
	    len != 65 || ser[0] != 0x04)
		return log_err("secp256k1: cannot serialize public key");
	memcpy(pub, ser + 1, 64);
	return 0;
}

int eth_key_from_secret(struct eth_key *key, const unsigned char secret[32],
			struct buf *err)
{
	static const unsigned char zero[32];
	secp256k1_context *c = get_ctx();
	secp256k1_pubkey pk;

	if (!c)
		return eth_errf(err, "secp256k1 unavailable");
	if (!memcmp(secret, zero, 32))
		return eth_errf(err, "secret key is zero");
	if (!secp256k1_ec_seckey_verify(c, secret))
		return eth_errf(err, "secret key is not below the secp256k1 curve order");
	if (!secp256k1_ec_pubkey_create(c, &pk, secret) ||
	    pubkey_to_xy(c, &pk, key->pub) < 0)
		return eth_errf(err, "cannot derive the public key");
	/* secret may alias key->secret */
	memmove(key->secret, secret, 32);
	eth_pub_to_address(key->pub, key->addr);
	return 0;
}

int eth_key_from_hex(struct eth_key *key, const char *hex, size_t len,
		     struct buf *err)
{
	unsigned char secret[32];
	int r = -1;

	if (eth_hex_decode(hex, len, secret, 32, err) == 0)
		r = eth_key_from_secret(key, secret, err);
	explicit_bzero(secret, sizeof(secret));
	return r;
}

void eth_key_wipe(struct eth_key *key)
{
	explicit_bzero(key, sizeof(*key));
}

struct eth_key *eth_key_private_move(struct eth_key *key)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)(page > 0 ? page : 4096);
	struct eth_key *k;

	k = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (k == MAP_FAILED)
		return NULL;
	if (madvise(k, len, MADV_WIPEONFORK) < 0 || madvise(k, len, MADV_DONTDUMP) < 0) {
		int e = errno;
		munmap(k, len);
		errno = e;
		return NULL;
	}
	*k = *key;
	eth_key_wipe(key);
	return k;
}

void eth_key_private_free(struct eth_key *key)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!key)
		return;
	eth_key_wipe(key);
	munmap(key, (size_t)(page > 0 ? page : 4096));
}

int eth_key_load_file(const char *path, struct eth_key *key, struct buf *err)
{
	unsigned char secret[33];
	struct stat st;
	size_t got = 0;
	int fd, r = -1;
	struct buf why = BUF_INIT;

	/* O_NONBLOCK: opening a FIFO must fail the type check, not hang */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return eth_errf(err, "key file %s does not exist", path);
		return eth_errf(err, "cannot open key file %s: %s", path,
				strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		eth_errf(err, "cannot stat key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		eth_errf(err, "key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		eth_errf(err, "key file %s is accessible by group or others (mode %04o); it must be 0600 (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size != 32) {
		eth_errf(err, "key file %s has %lld bytes; it must hold exactly 32 raw bytes (a secp256k1 secret key)",
			 path, (long long)st.st_size);
		goto out;
	}
	/* read one byte more than needed to notice a file that grew */
	while (got < sizeof(secret)) {
		ssize_t n = read(fd, secret + got, sizeof(secret) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			eth_errf(err, "cannot read key file %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != 32) {
		eth_errf(err, "key file %s changed size while being read", path);
		goto out;
	}
	if (eth_key_from_secret(key, secret, &why) < 0) {
		eth_errf(err, "key file %s does not hold a valid secp256k1 secret key: %s",
			 path, buf_cstr(&why));
		goto out;
	}
	r = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	buf_release(&why);
	close(fd);
	return r;
}

/* fsync the directory holding path so the new entry survives a crash. */
static int sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct buf dir = BUF_INIT;
	int fd, r = 0;

	if (!slash)
		buf_addstr(&dir, ".");
	else if (slash == path)
		buf_addstr(&dir, "/");
	else
		buf_add(&dir, path, (size_t)(slash - path));
	if (!dir.data)
		return -1;
	fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -1;
	if (fd >= 0)
		close(fd);
	buf_release(&dir);
	return r;
}

int eth_key_generate_file(const char *path, struct eth_key *key,
			  struct buf *err)
{
	struct eth_key k;
	size_t off = 0;
	int fd, tries;

	/* a random 32-byte string is invalid with probability ~2^-128 */
	for (tries = 0;; tries++) {
		if (tries == 16)
			return eth_errf(err, "no valid secret key from getrandom after %d tries",
					tries);
		if (fill_random(k.secret, 32) < 0)
			return eth_errf(err, "getrandom failed: %s", strerror(errno));
		if (eth_key_from_secret(&k, k.secret, NULL) == 0)
			break;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		int e = errno;

		eth_key_wipe(&k);
		if (e == EEXIST)
			return eth_errf(err, "key file %s already exists; refusing to overwrite it",
					path);
		return eth_errf(err, "cannot create key file %s: %s", path,
				strerror(e));
	}
	/* the umask may have removed owner bits; 0600 exactly is the format */
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (off < 32) {
		ssize_t n = write(fd, k.secret + off, 32 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (sync_parent_dir(path) < 0)
		goto fail;
	if (key)
		*key = k;
	eth_key_wipe(&k);
	return 0;
fail:
	{
		int e = errno ? errno : EIO;

		if (fd >= 0)
			close(fd);
		unlink(path);
		eth_key_wipe(&k);
		return eth_errf(err, "cannot write key file %s: %s", path,
				strerror(e));
	}
}

int eth_sign_digest(const struct eth_key *key, const unsigned char digest[32],
		    unsigned char sig[65])
{
	secp256k1_context *c = get_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	int recid;

	if (!c)
		return -1;
	/* NULL nonce function: RFC 6979; libsecp256k1 always emits low s */
	if (!secp256k1_ecdsa_sign_recoverable(c, &rs, digest, key->secret,
					      NULL, NULL))
		return log_err("secp256k1: signing failed (invalid key?)");
	if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(c, sig,
								     &recid, &rs) ||
	    recid < 0 || recid > 3)
		return log_err("secp256k1: cannot serialize signature");
	sig[64] = (unsigned char)(27 + recid);
	return 0;
}

int eth_recover_pub(const unsigned char digest[32],
		    const unsigned char sig[65], unsigned char pub[64],
		    struct buf *err)
{
	secp256k1_context *c = get_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pk;
	int recid;

	if (!c)
		return eth_errf(err, "secp256k1 unavailable");
	if (sig[64] == 27 || sig[64] == 28)
		recid = sig[64] - 27;
	else if (sig[64] == 0 || sig[64] == 1)
		recid = sig[64];
	else
		return eth_errf(err, "invalid signature recovery byte v=%u",
				sig[64]);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(c, &rs, sig,
								 recid))
		return eth_errf(err, "invalid signature: r or s not below the curve order");
	if (!secp256k1_ecdsa_recover(c, &pk, &rs, digest))
		return eth_errf(err, "signature does not recover to a public key");
	if (pubkey_to_xy(c, &pk, pub) < 0)
		return eth_errf(err, "cannot serialize the recovered public key");
	return 0;
}

int eth_recover(const unsigned char digest[32], const unsigned char sig[65],
		unsigned char addr[20], struct buf *err)
{
	unsigned char pub[64];

	if (eth_recover_pub(digest, sig, pub, err) < 0)
		return -1;
	eth_pub_to_address(pub, addr);
	return 0;
}

char *eth_address_hex(const unsigned char addr[20],
		      char out[ETH_ADDR_HEX_SIZE])
{
	return eth_hex_str(out, ETH_ADDR_HEX_SIZE, addr, 20);
}

char *eth_pub_hex(const unsigned char pub[64], char out[ETH_PUB_HEX_SIZE])
{
	return eth_hex_str(out, ETH_PUB_HEX_SIZE, pub, 64);
}

char *eth_sig_hex(const unsigned char sig[65], char out[ETH_SIG_HEX_SIZE])
{
	return eth_hex_str(out, ETH_SIG_HEX_SIZE, sig, 65);
}

int eth_address_parse(const char *s, size_t len, unsigned char addr[20],
		      struct buf *err)
{
	return eth_hex_decode(s, len, addr, 20, err);
}
