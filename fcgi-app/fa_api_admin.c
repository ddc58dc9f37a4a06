/*
 * The Oyster executor admin API (PROTOCOL.md section 2), byte-compatible
 * with the standalone executor: plain-text bodies ending in "\n", JSON with
 * keys in alphabetical order, the same status codes and messages.  Hex
 * errors are rendered like the Rust `hex` crate's Debug output the
 * original prints ("InvalidHexCharacter { c: 'g', index: 0 }", "OddLength").
 *
 * State: the owner address is written once to SQLite (immutable for the
 * life of the database); the gas key is a secret and goes to its own 0600
 * file (gas_key_path), never to SQLite or a log line.
 *
 * nginx only lets admin addresses (admin_allow) reach these paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eth_eip712.h"
#include "eth_hex.h"
#include "fa_api.h"
#include "log.h"
#include "banned.h"

#define REGISTRATION_ENV 1

static const unsigned char zero_addr[20];

/* Rust hex::decode's error, Debug-formatted. */
static int rust_hex_decode(const char *s, unsigned char *out, size_t max, size_t *n, struct buf *why)
{
	size_t len = strlen(s);

	if (len % 2) {
		/* hex::decode reports a bad character before an odd length */
		for (size_t i = 0; i < len; i++)
			if (!strchr("0123456789abcdefABCDEF", s[i]))
				goto badchar;
		buf_addstr(why, "OddLength");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			goto badchar;
	if (len / 2 > max) {
		*n = len / 2; /* too long: caller reports the length rule */
		return 0;
	}
	if (eth_hex_decode(s, len, out, len / 2, NULL) < 0)
		return -1;
	*n = len / 2;
	return 0;
badchar:
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (strchr("0123456789abcdefABCDEF", ch))
			continue;
		if (ch == '\'' || ch == '\\')
			buf_addf(why, "InvalidHexCharacter { c: '\\%c', index: %zu }", ch, i);
		else if (ch >= 0x20 && ch < 0x7f)
			buf_addf(why, "InvalidHexCharacter { c: '%c', index: %zu }", ch, i);
		else
			buf_addf(why, "InvalidHexCharacter { c: '\\u{%x}', index: %zu }", ch, i);
		return -1;
	}
	return -1;
}

/* {"<field>": "<string>"} -> the string, or an error reply. */
static const char *json_field(struct fa_ctx *c, json_t **root, const char *field)
{
	json_error_t jerr;
	json_t *v;

	*root = json_loadb(buf_cstr(&c->req.body), c->req.body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root || !json_is_object(*root)) {
		struct buf msg = BUF_INIT;
		buf_addf(&msg, "Json deserialize error: %s\n", *root ? "expected an object" : jerr.text);
		fa_reply_text(c, 400, buf_cstr(&msg));
		buf_release(&msg);
		return NULL;
	}
	v = json_object_get(*root, field);
	if (!json_is_string(v)) {
		struct buf msg = BUF_INIT;
		buf_addf(&msg, "Json deserialize error: missing field `%s`\n", field);
		fa_reply_text(c, 400, buf_cstr(&msg));
		buf_release(&msg);
		return NULL;
	}
	return json_string_value(v);
}

static const char *strip0x(const char *s)
{
	return (s[0] == '0' && s[1] == 'x') ? s + 2 : s;
}

void fa_api_root(struct fa_ctx *c)
{
	fa_reply(c, 200, NULL, "", 0);
}

/*
 * unregister.<subdomain>, as in the original executor: from now on every
 * execution answers 410, while requests already running finish; the
 * control plane calls it before taking the node out.  It lasts until the
 * master restarts (the flag lives in the master's shared memory, so a
 * handler that is replaced keeps it).  nginx lets only admin_allow
 * addresses reach it, and only the control handlers serve it.
 */
void fa_api_unregister(struct fa_ctx *c)
{
	const char *client = fa_param_get(&c->req, "REMOTE_ADDR");

	if (c->slot) {
		fa_reply_text(c, 404, "Not Found\n");
		return;
	}
	if (!c->stats->unregistered_unix) {
		c->stats->unregistered_unix = (uint64_t)time(NULL);
		log_msg(LOG_WARN, "unregistered by %s (%s %s): executions now answer 410 until the service restarts",
			client ? client : "?", c->method, c->host);
	}
	fa_reply_text(c, 200, "successfully set server in draining state\n");
}

void fa_api_immutable_config(struct fa_ctx *c)
{
	json_t *root = NULL;
	const char *hex = json_field(c, &root, "owner_address_hex");
	unsigned char owner[32];
	struct buf why = BUF_INIT, msg = BUF_INIT;
	size_t n = 0;
	int r;

	if (!hex)
		goto out;
	if (rust_hex_decode(strip0x(hex), owner, sizeof(owner), &n, &why) < 0) {
		buf_addf(&msg, "Invalid owner address hex string: %s\n", buf_cstr(&why));
		fa_reply_text(c, 400, buf_cstr(&msg));
		goto out;
	}
	if (n != 20) {
		fa_reply_text(c, 400, "Owner address must be 20 bytes long!\n");
		goto out;
	}
	r = db_config_set_once(c->db, "owner", owner, 20);
	if (r < 0)
		fa_reply_text(c, 500, "Failed to store the owner address\n");
	else if (r == 0)
		fa_reply_text(c, 400, "Immutable params already configured!\n");
	else
		fa_reply_text(c, 200, "Immutable params configured!\n");
out:
	json_decref(root);
	buf_release(&why);
	buf_release(&msg);
}

/* Write the secret atomically: temp file 0600, fsync, rename, fsync dir. */
static int store_gas_key(const char *path, const unsigned char secret[32])
{
	char tmp[CONF_STR_MAX + 16], dir[CONF_STR_MAX];
	const unsigned char *p = secret;
	size_t left = 32;
	char *slash;
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_errno("cannot create %s", tmp);
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_errno("write %s", tmp);
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		log_errno("cannot store %s", path);
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

void fa_api_mutable_config(struct fa_ctx *c)
{
	json_t *root = NULL;
	const char *hex = json_field(c, &root, "gas_key_hex");
	unsigned char secret[32];
	struct buf why = BUF_INIT, msg = BUF_INIT;
	struct eth_key gas;
	uint64_t nonce;
	size_t n = 0;

	memset(&gas, 0, sizeof(gas));
	if (!hex)
		goto out;
	if (rust_hex_decode(strip0x(hex), secret, sizeof(secret), &n, &why) < 0) {
		buf_addf(&msg, "Invalid gas private key hex string: %s\n", buf_cstr(&why));
		fa_reply_text(c, 400, buf_cstr(&msg));
		goto out;
	}
	if (n != 32) {
		fa_reply_text(c, 400, "Gas private key must be 32 bytes long!\n");
		goto out;
	}
	if (eth_key_from_secret(&gas, secret, &why) < 0) {
		buf_addf(&msg, "Invalid gas private key provided: %s\n", buf_cstr(&why));
		fa_reply_text(c, 400, buf_cstr(&msg));
		goto out;
	}
	if (!c->rpc) {
		fa_reply_text(c, 500, "Failed to fetch current nonce for the gas address: no rpc_url is configured\n");
		goto out;
	}
	if (eth_rpc_get_transaction_count(c->rpc, gas.addr, "pending", &nonce) < 0) {
		buf_addf(&msg, "Failed to fetch current nonce for the gas address: %s\n",
			 eth_rpc_last_error(c->rpc)->message);
		fa_reply_text(c, 500, buf_cstr(&msg));
		goto out;
	}
	if (store_gas_key(c->conf->gas_key_path, secret) < 0) {
		fa_reply_text(c, 500, "Failed to store the gas key\n");
		goto out;
	}
	{
		char a[ETH_HEX_STR_SIZE(20)];
		log_msg(LOG_INFO, "gas key configured: gas address %s, pending nonce %llu",
			eth_hex_str(a, sizeof(a), gas.addr, 20), (unsigned long long)nonce);
	}
	fa_reply_text(c, 200, "Mutable params configured!\n");
out:
	explicit_bzero(secret, sizeof(secret));
	eth_key_wipe(&gas);
	json_decref(root);
	buf_release(&why);
	buf_release(&msg);
}

/* 1 and the owner when configured, 0 when not, -1 on error. */
static int load_owner(struct fa_ctx *c, unsigned char owner[20])
{
	struct buf v = BUF_INIT;
	int r = db_config_get(c->db, "owner", &v);

	if (r == 1 && v.len == 20)
		memcpy(owner, v.data, 20);
	else if (r == 1)
		r = log_err("stored owner has %zu bytes", v.len);
	buf_release(&v);
	return r;
}

/* 1 and the gas address when a gas key is stored, 0 when not, -1 on error. */
static int load_gas_address(struct fa_ctx *c, unsigned char addr[20])
{
	struct eth_key k;
	struct buf err = BUF_INIT;
	int r;

	if (access(c->conf->gas_key_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	r = eth_key_load_file(c->conf->gas_key_path, &k, &err);
	if (r < 0) {
		log_err("gas key: %s", buf_cstr(&err));
	} else {
		memcpy(addr, k.addr, 20);
		r = 1;
	}
	eth_key_wipe(&k);
	buf_release(&err);
	return r;
}

void fa_api_executor_details(struct fa_ctx *c)
{
	unsigned char owner[20], gas[20];
	char a[ETH_HEX_STR_SIZE(20)], p[ETH_HEX_STR_SIZE(64)], o[ETH_HEX_STR_SIZE(20)],
		g[ETH_HEX_STR_SIZE(20)];
	int ro = load_owner(c, owner), rg = load_gas_address(c, gas);

	if (ro < 0 || rg < 0) {
		fa_reply_text(c, 500, "Failed to read the executor configuration\n");
		return;
	}
	fa_reply_json(c, 200,
		      json_pack("{s:s,s:s,s:s,s:s}",
				"enclave_address", eth_hex_str(a, sizeof(a), c->enclave->addr, 20),
				"enclave_public_key", eth_hex_str(p, sizeof(p), c->enclave->pub, 64),
				"gas_address", eth_hex_str(g, sizeof(g), rg == 1 ? gas : zero_addr, 20),
				"owner_address", eth_hex_str(o, sizeof(o), ro == 1 ? owner : zero_addr, 20)));
}

void fa_api_signed_registration(struct fa_ctx *c)
{
	unsigned char owner[20], gas[20], digest[32], sig[65];
	char o[ETH_HEX_STR_SIZE(20)], s[ETH_HEX_STR_SIZE(65)];
	uint64_t ts = (uint64_t)time(NULL);
	int r;

	r = load_owner(c, owner);
	if (r <= 0) {
		fa_reply_text(c, r < 0 ? 500 : 400, r < 0 ? "Failed to read the executor configuration\n"
							 : "Immutable params not configured yet!\n");
		return;
	}
	r = load_gas_address(c, gas);
	if (r <= 0) {
		fa_reply_text(c, r < 0 ? 500 : 400, r < 0 ? "Failed to read the executor configuration\n"
							 : "Mutable params not configured yet!\n");
		return;
	}
	eth_eip712_register_digest(owner, (uint64_t)c->conf->job_capacity, REGISTRATION_ENV, ts, digest);
	if (eth_sign_digest(c->enclave, digest, sig) < 0) {
		fa_reply_text(c, 500, "Failed to sign the registration message\n");
		return;
	}
	/* The chain watcher starts following registration events from here on. */
	{
		char tsbuf[24];
		snprintf(tsbuf, sizeof(tsbuf), "%llu", (unsigned long long)ts);
		if (db_config_set(c->db, "registration_requested", tsbuf, strlen(tsbuf)) < 0)
			log_msg(LOG_WARN, "could not record the registration request");
	}
	fa_reply_json(c, 200,
		      json_pack("{s:i,s:I,s:s,s:I,s:s}", "env", REGISTRATION_ENV, "job_capacity",
				(json_int_t)c->conf->job_capacity, "owner",
				eth_hex_str(o, sizeof(o), owner, 20), "sign_timestamp", (json_int_t)ts,
				"signature", eth_hex_str(s, sizeof(s), sig, 65)));
}
