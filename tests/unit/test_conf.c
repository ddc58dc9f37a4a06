/*
 * Tests for common/conf.c: the configuration table and its file format.
 *
 * The table is walked rather than spot-checked, so a key added later is
 * covered automatically: its default must parse, its doc must exist, its
 * bounds must be enforced exactly (min and max accepted, one past either
 * rejected), and it must appear in the generated sample.  The shipped
 * conf/executor.conf must be byte-identical to conf_sample(), and a dump
 * of any configuration must parse back into the same struct.
 *
 * The shipped sample is found under $OYSTER_ROOT (default: the current
 * directory, i.e. run from the repository root as `make unit` does).
 */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "banned.h"

#ifndef OYSTER_ROOT_DEFAULT
#define OYSTER_ROOT_DEFAULT "."
#endif

/* ---- helpers ------------------------------------------------------------ */

static int64_t int_field(const struct conf *c, const struct conf_key *k)
{
	int64_t v;

	memcpy(&v, (const char *)c + k->offset, sizeof(v));
	return v;
}

/* conf_set on a defaulted conf; returns the rc, err holds the message. */
static int set1(struct conf *c, const char *k, const char *v, struct buf *err)
{
	buf_reset(err);
	return conf_set(c, k, v, err);
}

static int parse_text(struct conf *c, const char *text, struct buf *err)
{
	conf_defaults(c);
	buf_reset(err);
	return conf_parse(c, text, strlen(text), "test.conf", err);
}

/* Parse must fail with a message starting with want_prefix and containing want. */
static void expect_parse_error(const char *text, size_t len, const char *want_prefix,
			       const char *want)
{
	struct conf c;
	struct buf err = BUF_INIT;
	int r;

	conf_defaults(&c);
	r = conf_parse(&c, text, len, "origin", &err);
	ck_assert_msg(r == -1, "parse of [%s] returned %d", text, r);
	ck_assert_msg(!strncmp(buf_cstr(&err), want_prefix, strlen(want_prefix)),
		      "error [%s] does not start with [%s]", buf_cstr(&err), want_prefix);
	ck_assert_msg(strstr(buf_cstr(&err), want) != NULL,
		      "error [%s] does not contain [%s]", buf_cstr(&err), want);
	buf_release(&err);
}

/* ---- the table ---------------------------------------------------------- */

START_TEST(test_defaults_parse)
{
	struct conf c, d;
	struct buf err = BUF_INIT;

	ck_assert_uint_gt(conf_nkeys, 20);
	/* conf_defaults aborts on a bad default; this test runs in a child */
	conf_defaults(&c);
	/* every default also parses on its own, with no message */
	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < conf_nkeys; i++) {
		ck_assert_msg(set1(&d, conf_keys[i].name, conf_keys[i].def, &err) == 0,
			      "default of %s: %s", conf_keys[i].name, buf_cstr(&err));
		ck_assert_uint_eq(err.len, 0);
	}
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	/* spot-check a few documented defaults */
	ck_assert_int_eq(c.slots, 4);
	ck_assert_int_eq(c.handlers, 0);
	ck_assert_int_eq(c.memory_limit, 128LL << 20);
	ck_assert_int_eq(c.max_request_bytes, 2LL << 20);
	ck_assert_int_eq(c.cgroups, 1);
	ck_assert_str_eq(c.run_dir, "/run/oyster-executor");
	ck_assert_str_eq(c.fcgi_socket, "");
	ck_assert_str_eq(c.log_level, "info");
	buf_release(&err);
}
END_TEST

START_TEST(test_table_docs_names)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		ck_assert_ptr_nonnull(k->name);
		ck_assert_msg(k->name[0] != '\0', "key %zu has no name", i);
		for (const char *p = k->name; *p; p++)
			ck_assert_msg((*p >= 'a' && *p <= 'z') || *p == '_',
				      "key name '%s' is not [a-z_]", k->name);
		ck_assert_msg(k->doc && k->doc[0], "key %s has no doc", k->name);
		ck_assert_msg(!strchr(k->doc, '\n'), "doc of %s is not one line", k->name);
		ck_assert_ptr_nonnull(k->def);
		ck_assert_uint_lt(k->offset, sizeof(struct conf));
		if (k->type == CONF_ENUM)
			ck_assert_msg(k->choices && k->choices[0], "enum %s has no choices", k->name);
		if (k->type == CONF_INT || k->type == CONF_SIZE) {
			ck_assert_msg(k->min <= k->max, "%s: min > max", k->name);
			ck_assert_uint_le(k->offset + sizeof(int64_t), sizeof(struct conf));
		} else if (k->type != CONF_BOOL) {
			ck_assert_uint_le(k->offset + CONF_STR_MAX, sizeof(struct conf));
		}
		for (size_t j = 0; j < i; j++) {
			ck_assert_msg(strcmp(conf_keys[j].name, k->name) != 0,
				      "key %s appears twice", k->name);
			ck_assert_msg(conf_keys[j].offset != k->offset,
				      "keys %s and %s share a field", conf_keys[j].name, k->name);
		}
	}
}
END_TEST

START_TEST(test_int_bounds)
{
	struct conf c;
	struct buf err = BUF_INIT;
	char txt[64];
	size_t checked = 0;

	conf_defaults(&c);
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		int zero_ok = !strcmp(k->def, "0");

		if (k->type != CONF_INT && k->type != CONF_SIZE)
			continue;
		checked++;
		/* min and max are accepted and stored exactly */
		snprintf(txt, sizeof(txt), "%" PRId64, k->min);
		ck_assert_msg(set1(&c, k->name, txt, &err) == 0, "%s=%s: %s", k->name, txt,
			      buf_cstr(&err));
		ck_assert_int_eq(int_field(&c, k), k->min);
		snprintf(txt, sizeof(txt), "%" PRId64, k->max);
		ck_assert_msg(set1(&c, k->name, txt, &err) == 0, "%s=%s: %s", k->name, txt,
			      buf_cstr(&err));
		ck_assert_int_eq(int_field(&c, k), k->max);

		/* max + 1 is rejected and leaves the value alone */
		if (k->max == INT64_MAX)
			snprintf(txt, sizeof(txt), "9223372036854775808");
		else
			snprintf(txt, sizeof(txt), "%" PRId64, k->max + 1);
		ck_assert_msg(set1(&c, k->name, txt, &err) == -1, "%s=%s accepted", k->name, txt);
		ck_assert_msg(strstr(buf_cstr(&err), k->name) &&
				      (k->max == INT64_MAX || strstr(buf_cstr(&err), "outside")),
			      "%s: message [%s]", k->name, buf_cstr(&err));
		ck_assert_int_eq(int_field(&c, k), k->max);

		/* min - 1 is rejected, except 0 where the default "0" means "derive" */
		snprintf(txt, sizeof(txt), "%" PRId64, k->min - 1);
		if (k->min - 1 == 0 && zero_ok) {
			ck_assert_msg(set1(&c, k->name, txt, &err) == 0, "%s=0: %s", k->name,
				      buf_cstr(&err));
			ck_assert_int_eq(int_field(&c, k), 0);
		} else {
			ck_assert_msg(set1(&c, k->name, txt, &err) == -1, "%s=%s accepted", k->name,
				      txt);
			ck_assert_int_eq(int_field(&c, k), k->max);
		}
		/* 0 itself: accepted only when in range or the default is "0" */
		if (k->min > 0)
			ck_assert_int_eq(set1(&c, k->name, "0", &err), zero_ok ? 0 : -1);

		/* garbage is rejected with the kind of value named */
		ck_assert_int_eq(set1(&c, k->name, "12abc", &err), -1);
		ck_assert_ptr_nonnull(strstr(buf_cstr(&err),
					     k->type == CONF_INT ? "whole number" : "size"));
		ck_assert_int_eq(set1(&c, k->name, "", &err), -1);
	}
	ck_assert_uint_ge(checked, 10);
	/* the derived keys */
	ck_assert_int_eq(set1(&c, "max_connections", "0", &err), 0);
	ck_assert_int_eq(c.max_connections, 0);
	ck_assert_int_eq(set1(&c, "handlers", "0", &err), 0);
	ck_assert_int_eq(set1(&c, "handlers", "-1", &err), -1);
	ck_assert_int_eq(set1(&c, "slots", "0", &err), -1);
	ck_assert_int_eq(set1(&c, "queue_timeout_ms", "-1", &err), -1);
	/* INT keys take no size suffix */
	ck_assert_int_eq(set1(&c, "slots", "1K", &err), -1);
	/* SIZE keys take one, within bounds */
	ck_assert_int_eq(set1(&c, "memory_limit", "16M", &err), 0);
	ck_assert_int_eq(c.memory_limit, 16LL << 20);
	ck_assert_int_eq(set1(&c, "memory_limit", "64G", &err), 0);
	ck_assert_int_eq(c.memory_limit, 64LL << 30);
	ck_assert_int_eq(set1(&c, "memory_limit", "65G", &err), -1);
	ck_assert_int_eq(set1(&c, "memory_limit", "15M", &err), -1);
	buf_release(&err);
}
END_TEST

START_TEST(test_sizes)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {
		{ "512K", 512LL * 1024 },
		{ "128M", 128LL << 20 },
		{ "1G", 1LL << 30 },
		{ "1g", 1LL << 30 },
		{ "2m", 2LL << 20 },
		{ "3k", 3LL * 1024 },
		{ "7", 7 },
		{ "0", 0 },
		{ "1KB", 1024 },
		{ "8589934591G", 8589934591LL << 30 },
		{ "9223372036854775807", INT64_MAX },
	};
	static const char *const bad[] = {
		"-1", "12X", "", "M", "99999999999999999999G", " 1G", "1G ", "1.5G",
		"+1", "0x10", "1GG", "1 K", "8589934592G", "9223372036854775808", "1T", "K1",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -42;
		ck_assert_msg(conf_parse_size(ok[i].s, &v) == 0, "'%s' rejected", ok[i].s);
		ck_assert_msg(v == ok[i].v, "'%s' = %" PRId64 ", want %" PRId64, ok[i].s, v,
			      ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -42;
		ck_assert_msg(conf_parse_size(bad[i], &v) == -1, "'%s' accepted", bad[i]);
		ck_assert_msg(v == -42, "'%s' wrote the output on failure", bad[i]);
	}
}
END_TEST

START_TEST(test_enum_path_bool_string)
{
	struct conf c;
	struct buf err = BUF_INIT;
	char longv[CONF_STR_MAX + 1];
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	conf_defaults(&c);
	/* enums: every choice, nothing else (case-sensitive, no prefixes) */
	ck_assert_int_eq(set1(&c, "log_level", "debug", &err), 0);
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_int_eq(set1(&c, "log_level", "error", &err), 0);
	ck_assert_str_eq(c.log_level, "error");
	ck_assert_int_eq(set1(&c, "log_level", "verbose", &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "log_level"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "verbose"));
	ck_assert_int_eq(set1(&c, "log_level", "INFO", &err), -1);
	ck_assert_int_eq(set1(&c, "log_level", "inf", &err), -1);
	ck_assert_int_eq(set1(&c, "log_level", "info|warn", &err), -1);
	ck_assert_int_eq(set1(&c, "log_level", "", &err), -1);
	ck_assert_int_eq(set1(&c, "sandbox_mode", "nonsense", &err), -1);
	ck_assert_str_eq(c.log_level, "error");
	ck_assert_str_eq(c.sandbox_mode, "pool");

	/* paths must be absolute (empty means "derive", for the socket keys) */
	ck_assert_int_eq(set1(&c, "run_dir", "relative/dir", &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "absolute"));
	ck_assert_int_eq(set1(&c, "db_path", "./x.db", &err), -1);
	ck_assert_int_eq(set1(&c, "workerd_path", "workerd", &err), -1);
	ck_assert_str_eq(c.run_dir, "/run/oyster-executor");
	ck_assert_int_eq(set1(&c, "run_dir", "/tmp/oy", &err), 0);
	ck_assert_str_eq(c.run_dir, "/tmp/oy");
	ck_assert_int_eq(set1(&c, "fcgi_socket", "", &err), 0);
	ck_assert_str_eq(c.fcgi_socket, "");

	/* strings: up to CONF_STR_MAX-1 bytes */
	memset(longv, 'a', sizeof(longv));
	longv[CONF_STR_MAX] = '\0';
	ck_assert_int_eq(set1(&c, "instance", longv, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "longer"));
	longv[CONF_STR_MAX - 1] = '\0';
	ck_assert_int_eq(set1(&c, "instance", longv, &err), 0);
	ck_assert_str_eq(c.instance, longv);
	ck_assert_int_eq(set1(&c, "socket_group", "", &err), 0);
	ck_assert_str_eq(c.socket_group, "");

	/* bools */
	for (size_t i = 0; i < 4; i++) {
		c.cgroups = 7;
		ck_assert_msg(set1(&c, "cgroups", yes[i], &err) == 0, "%s", yes[i]);
		ck_assert_int_eq(c.cgroups, 1);
		ck_assert_msg(set1(&c, "cgroups", no[i], &err) == 0, "%s", no[i]);
		ck_assert_int_eq(c.cgroups, 0);
	}
	ck_assert_int_eq(set1(&c, "cgroups", "2", &err), -1);
	ck_assert_int_eq(set1(&c, "cgroups", "ON", &err), -1);
	ck_assert_int_eq(set1(&c, "cgroups", "", &err), -1);
	ck_assert_int_eq(set1(&c, "cgroups", "enabled", &err), -1);
	ck_assert_int_eq(c.cgroups, 0);

	/* unknown keys */
	ck_assert_int_eq(set1(&c, "slot", "4", &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "unknown key 'slot'"));
	ck_assert_int_eq(set1(&c, "SLOTS", "4", &err), -1);
	buf_release(&err);
}
END_TEST

START_TEST(test_address_keys)
{
	struct conf c;
	struct buf err = BUF_INIT;
	const char *good = "0x00112233445566778899aAbBcCdDeEfF00112233";
	size_t checked = 0;

	conf_defaults(&c);
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *field = (const char *)&c + k->offset;

		if (k->type != CONF_ADDRESS)
			continue;
		checked++;
		ck_assert_msg(set1(&c, k->name, good, &err) == 0, "%s: %s", k->name, buf_cstr(&err));
		ck_assert_str_eq(field, good);
		ck_assert_int_eq(set1(&c, k->name, "0X00112233445566778899aabbccddeeff00112233", &err), 0);
		/* empty = unset */
		ck_assert_int_eq(set1(&c, k->name, "", &err), 0);
		ck_assert_str_eq(field, "");
		/* wrong length, no prefix, non-hex */
		ck_assert_int_eq(set1(&c, k->name, "0x00112233445566778899aabbccddeeff0011223", &err), -1);
		ck_assert_ptr_nonnull(strstr(buf_cstr(&err), k->name));
		ck_assert_int_eq(set1(&c, k->name, "0x00112233445566778899aabbccddeeff001122334", &err), -1);
		ck_assert_int_eq(set1(&c, k->name, "00112233445566778899aabbccddeeff0011223344", &err), -1);
		ck_assert_int_eq(set1(&c, k->name, "0x0011223344556677889Gaabbccddeeff00112233", &err), -1);
		ck_assert_int_eq(set1(&c, k->name, "0x", &err), -1);
		ck_assert_str_eq(field, "");
	}
	ck_assert_int_eq(conf_is_address(good), 1);
	ck_assert_int_eq(conf_is_address("0x00112233445566778899aabbccddeeff0011223 "), 0);
	ck_assert_int_eq(conf_is_address(""), 0);
	(void)checked; /* the table may have none yet */
	buf_release(&err);
}
END_TEST

/* ---- the file format ---------------------------------------------------- */

START_TEST(test_parse_format)
{
	struct conf c, want;
	struct buf err = BUF_INIT;
	const char *text =
		"# a comment\n"
		"\n"
		"   # indented comment = with equals\n"
		"slots = 8\n"
		"\t handlers\t=\t3 \t\n"
		"memory_limit=256M\n"
		"instance = a=b c\n"
		"   \t  \n"
		"log_level =   warn   \n"
		"cgroups = off"; /* no final newline */

	ck_assert_msg(parse_text(&c, text, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_uint_eq(err.len, 0);
	conf_defaults(&want);
	want.slots = 8;
	want.handlers = 3;
	want.memory_limit = 256LL << 20;
	snprintf(want.instance, sizeof(want.instance), "a=b c");
	snprintf(want.log_level, sizeof(want.log_level), "warn");
	want.cgroups = 0;
	ck_assert_int_eq(memcmp(&c, &want, sizeof(c)), 0);

	/* CRLF line ends give the same result */
	{
		struct conf d;
		const char *crlf =
			"# a comment\r\n"
			"\r\n"
			"slots = 8\r\n"
			"handlers = 3\r\n"
			"memory_limit = 256M\r\n"
			"instance = a=b c\r\n"
			"log_level = warn\r\n"
			"cgroups = off\r\n";
		ck_assert_msg(parse_text(&d, crlf, &err) == 0, "%s", buf_cstr(&err));
		ck_assert_int_eq(memcmp(&d, &want, sizeof(d)), 0);
		ck_assert_str_eq(d.log_level, "warn");
	}

	/* an empty text and a comments-only text leave the defaults */
	ck_assert_int_eq(parse_text(&c, "", &err), 0);
	conf_defaults(&want);
	ck_assert_int_eq(memcmp(&c, &want, sizeof(c)), 0);
	ck_assert_int_eq(parse_text(&c, "#slots = 9\n\n\n#\n", &err), 0);
	ck_assert_int_eq(memcmp(&c, &want, sizeof(c)), 0);

	/* only len bytes are read: what follows is not part of the file */
	conf_defaults(&c);
	buf_reset(&err);
	ck_assert_int_eq(conf_parse(&c, "slots = 9\nbogus", 10, "t", &err), 0);
	ck_assert_int_eq(c.slots, 9);
	buf_release(&err);
}
END_TEST

START_TEST(test_parse_errors)
{
	char longline[1100];
	char okline[1024];
	struct conf c;
	struct buf err = BUF_INIT;

	expect_parse_error("slots = 4\n# ok\nbogus_key = 1\n", strlen("slots = 4\n# ok\nbogus_key = 1\n"),
			   "origin:3: ", "unknown key 'bogus_key'");
	expect_parse_error("slots = 4\r\n\r\nbogus = 1\r\n", strlen("slots = 4\r\n\r\nbogus = 1\r\n"),
			   "origin:3: ", "unknown key 'bogus'");
	expect_parse_error("slots = 4\nhandlers = 1\nslots = 5\n",
			   strlen("slots = 4\nhandlers = 1\nslots = 5\n"), "origin:3: ", "'slots' set twice");
	/* a repeat is an error even with the same value, and with other spacing */
	expect_parse_error("slots=4\n  slots = 4\n", strlen("slots=4\n  slots = 4\n"), "origin:2: ",
			   "set twice");
	expect_parse_error("\nslots 4\n", strlen("\nslots 4\n"), "origin:2: ", "expected 'key = value'");
	expect_parse_error("slots = 4\0\n", 11, "origin:1: ", "NUL byte");
	expect_parse_error("# fine\n#\0comment\n", 17, "origin:2: ", "NUL byte");
	expect_parse_error("handlers = 4\nslots = 1000\n", strlen("handlers = 4\nslots = 1000\n"),
			   "origin:2: ", "outside");
	expect_parse_error("slots = 4000\n", strlen("slots = 4000\n"), "origin:1: ", "slots");
	expect_parse_error("log_level = loud\n", strlen("log_level = loud\n"), "origin:1: ",
			   "'loud' is not one of");
	expect_parse_error("run_dir = tmp/x\n", strlen("run_dir = tmp/x\n"), "origin:1: ",
			   "absolute path");
	expect_parse_error("cgroups = maybe\n", strlen("cgroups = maybe\n"), "origin:1: ", "on/off");
	expect_parse_error(" = 4\n", strlen(" = 4\n"), "origin:1: ", "unknown key");
	expect_parse_error("memory_limit = 12X\n", strlen("memory_limit = 12X\n"), "origin:1: ",
			   "memory_limit");

	/* too-long line (even a comment), reported with its number */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "# ok\n#", 6);
	longline[sizeof(longline) - 1] = '\0';
	expect_parse_error(longline, strlen(longline), "origin:2: ", "line too long");
	/* 1023 bytes is still fine */
	memset(okline, ' ', sizeof(okline));
	memcpy(okline, "slots = 5", 9);
	okline[1023] = '\0';
	conf_defaults(&c);
	ck_assert_uint_eq(strlen(okline), 1023);
	ck_assert_msg(conf_parse(&c, okline, 1023, "o", &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.slots, 5);
	buf_release(&err);
}
END_TEST

START_TEST(test_finish)
{
	struct conf c;
	struct buf err = BUF_INIT;

	conf_defaults(&c);
	conf_finish(&c);
	ck_assert_str_eq(c.fcgi_socket, "/run/oyster-executor/fcgi.sock");
	ck_assert_str_eq(c.control_socket, "/run/oyster-executor/control.sock");
	ck_assert_int_eq(c.handlers, 4);
	ck_assert_int_eq(c.max_connections, 64);

	ck_assert_int_eq(parse_text(&c, "run_dir = /srv/oy\nslots = 7\n", &err), 0);
	conf_finish(&c);
	ck_assert_str_eq(c.fcgi_socket, "/srv/oy/fcgi.sock");
	ck_assert_str_eq(c.control_socket, "/srv/oy/control.sock");
	ck_assert_int_eq(c.handlers, 7);
	ck_assert_int_eq(c.max_connections, 16 * 7);

	/* explicit values win over derived ones */
	ck_assert_int_eq(parse_text(&c,
				    "run_dir = /srv/oy\nslots = 7\nhandlers = 2\n"
				    "max_connections = 5\nfcgi_socket = /a/f.sock\n"
				    "control_socket = /b/c.sock\n",
				    &err),
			 0);
	conf_finish(&c);
	ck_assert_str_eq(c.fcgi_socket, "/a/f.sock");
	ck_assert_str_eq(c.control_socket, "/b/c.sock");
	ck_assert_int_eq(c.handlers, 2);
	ck_assert_int_eq(c.max_connections, 5);

	/* handler i owns slot i: never more handlers than slots */
	ck_assert_int_eq(parse_text(&c, "slots = 2\nhandlers = 9\n", &err), 0);
	conf_finish(&c);
	ck_assert_int_eq(c.handlers, 2);
	buf_release(&err);
}
END_TEST

START_TEST(test_load)
{
	char dir[] = "/tmp/oyster-test-conf-XXXXXX";
	char path[256];
	struct conf c;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/executor.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("slots = 3\nrun_dir = /var/run/x\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(&c, path), 0);
	ck_assert_int_eq(c.slots, 3);
	ck_assert_int_eq(c.handlers, 3);
	ck_assert_int_eq(c.max_connections, 48);
	ck_assert_str_eq(c.fcgi_socket, "/var/run/x/fcgi.sock");

	/* no file: defaults plus derived values */
	ck_assert_int_eq(conf_load(&c, NULL), 0);
	ck_assert_int_eq(c.slots, 4);
	ck_assert_int_eq(c.handlers, 4);

	/* errors (logged to stderr by design) */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("slots = 3\nslotz = 4\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(&c, path), -1);
	unlink(path);
	ck_assert_int_eq(conf_load(&c, path), -1);
	rmdir(dir);
}
END_TEST

/* ---- dump and sample ---------------------------------------------------- */

/* "k=v" lines -> "k = v" lines, so the round trip also exercises trimming. */
static void dump_to_conf_text(const struct buf *dump, struct buf *text)
{
	const char *p = dump->data, *end = dump->data + dump->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eq = memchr(p, '=', (size_t)(nl - p));

		ck_assert_ptr_nonnull(nl);
		ck_assert_ptr_nonnull(eq);
		buf_add(text, p, (size_t)(eq - p));
		buf_addstr(text, " = ");
		buf_add(text, eq + 1, (size_t)(nl - eq - 1));
		buf_addch(text, '\n');
		p = nl + 1;
	}
}

static void roundtrip(const char *conf_text)
{
	struct conf a, b;
	struct buf err = BUF_INIT, dump = BUF_INIT, text = BUF_INIT;
	size_t lines = 0;

	ck_assert_msg(parse_text(&a, conf_text, &err) == 0, "%s", buf_cstr(&err));
	conf_finish(&a);
	ck_assert_int_eq(conf_dump(&a, &dump), 0);
	for (size_t i = 0; i < dump.len; i++)
		lines += dump.data[i] == '\n';
	ck_assert_uint_eq(lines, conf_nkeys);
	/* each key once, in table order */
	{
		const char *p = dump.data;
		for (size_t i = 0; i < conf_nkeys; i++) {
			size_t n = strlen(conf_keys[i].name);
			ck_assert_msg(!strncmp(p, conf_keys[i].name, n) && p[n] == '=',
				      "dump line %zu is not %s=", i, conf_keys[i].name);
			p = strchr(p, '\n') + 1;
		}
	}
	dump_to_conf_text(&dump, &text);
	ck_assert_msg(parse_text(&b, buf_cstr(&text), &err) == 0, "%s\n%s", buf_cstr(&err),
		      buf_cstr(&text));
	ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "round trip differs:\n%s", buf_cstr(&dump));
	/* finishing again changes nothing: the dump already holds derived values */
	conf_finish(&b);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	buf_release(&err);
	buf_release(&dump);
	buf_release(&text);
}

START_TEST(test_dump_roundtrip)
{
	struct conf c;
	struct buf dump = BUF_INIT;

	roundtrip("");
	roundtrip("instance = node-7\n"
		  "run_dir = /tmp/oyster run\n"
		  "socket_group =\n"
		  "admin_allow = 10.0.0.0/8 192.168.1.1 ::1\n"
		  "slots = 12\n"
		  "handlers = 5\n"
		  "memory_limit = 1G\n"
		  "cpu_percent = 250\n"
		  "max_code_bytes = 512K\n"
		  "max_connections = 1000000\n"
		  "queue_timeout_ms = 0\n"
		  "log_level = debug\n"
		  "cgroups = no\n");

	/* exact text of a few lines */
	conf_defaults(&c);
	conf_finish(&c);
	ck_assert_int_eq(conf_dump(&c, &dump), 0);
	ck_assert_ptr_nonnull(strstr(dump.data, "\nmemory_limit=134217728\n"));
	ck_assert_ptr_nonnull(strstr(dump.data, "\ncgroups=on\n"));
	ck_assert_ptr_nonnull(strstr(dump.data, "\nsocket_group=www-data\n"));
	ck_assert_ptr_nonnull(strstr(dump.data, "\nfcgi_socket=/run/oyster-executor/fcgi.sock\n"));
	ck_assert_ptr_nonnull(strstr(dump.data, "\nhandlers=4\n"));
	ck_assert_ptr_nonnull(strstr(dump.data, "\nmax_connections=64\n"));
	ck_assert_int_eq(strncmp(dump.data, "instance=default\n", 17), 0);
	buf_release(&dump);
}
END_TEST

START_TEST(test_sample)
{
	struct buf s = BUF_INIT, line = BUF_INIT, text = BUF_INIT, err = BUF_INIT;
	struct conf c, d;

	ck_assert_int_eq(conf_sample(&s), 0);
	ck_assert_uint_gt(s.len, 0);
	ck_assert_uint_eq(strlen(s.data), s.len);
	ck_assert_int_eq(s.data[s.len - 1], '\n');
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *hit, *doc;

		buf_reset(&line);
		buf_addf(&line, "\n#%s = %s\n", k->name, k->def);
		hit = strstr(s.data, line.data);
		ck_assert_msg(hit != NULL, "sample lacks '#%s = %s'", k->name, k->def);
		/* exactly once */
		ck_assert_msg(strstr(hit + 1, line.data) == NULL, "'%s' twice", k->name);
		/* its doc is the comment line right above */
		buf_reset(&line);
		buf_addf(&line, "\n# %s", k->doc);
		doc = strstr(s.data, line.data);
		ck_assert_msg(doc != NULL && doc < hit && !memchr(doc + 1, '\n', (size_t)(hit - doc - 1)),
			      "doc of %s not right above it", k->name);
	}
	/* the sample as shipped (all commented) parses to the defaults */
	ck_assert_msg(parse_text(&c, s.data, &err) == 0, "%s", buf_cstr(&err));
	conf_defaults(&d);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	/* uncommenting every "#key = default" line also gives the defaults */
	{
		const char *p = s.data;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = (size_t)(nl - p);
			if (n > 1 && p[0] == '#' && p[1] != ' ' && memchr(p, '=', n))
				buf_add(&text, p + 1, n);
			else
				buf_add(&text, p, n);
			buf_addch(&text, '\n');
			p = nl + 1;
		}
	}
	ck_assert_msg(parse_text(&c, text.data, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	/* and it really set them: each key is set twice if we append it again */
	buf_addstr(&text, "slots = 4\n");
	ck_assert_int_eq(parse_text(&c, text.data, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "set twice"));
	buf_release(&s);
	buf_release(&line);
	buf_release(&text);
	buf_release(&err);
}
END_TEST

START_TEST(test_shipped_sample_matches)
{
	const char *root = getenv("OYSTER_ROOT");
	char path[1024];
	struct buf want = BUF_INIT, got = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd;

	if (!root || !*root)
		root = OYSTER_ROOT_DEFAULT;
	snprintf(path, sizeof(path), "%s/conf/executor.conf", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "cannot open %s (run from the repository root or set OYSTER_ROOT)",
		      path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&got, chunk, (size_t)n);
	ck_assert_int_eq(n, 0);
	close(fd);
	ck_assert_int_eq(conf_sample(&want), 0);
	ck_assert_msg(got.len == want.len && !memcmp(got.data, want.data, want.len),
		      "%s differs from conf_sample(); regenerate it with "
		      "build/bin/oyster-fcgi --print-sample-config > conf/executor.conf",
		      path);
	buf_release(&want);
	buf_release(&got);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_defaults_parse);
	tcase_add_test(tc, test_table_docs_names);
	tcase_add_test(tc, test_int_bounds);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_enum_path_bool_string);
	tcase_add_test(tc, test_address_keys);
	tcase_add_test(tc, test_parse_format);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_finish);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_dump_roundtrip);
	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_shipped_sample_matches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
