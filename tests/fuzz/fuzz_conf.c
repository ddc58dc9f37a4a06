/*
 * Fuzz conf_parse (common/conf.h): the executor.conf text.  An admin
 * writes it, but it is also the one parser fed by a file whose mistakes
 * must stop the daemon cleanly rather than crash it.
 *
 * Checked besides memory safety: a configuration that parses is dumped
 * (conf_dump's key=value lines), and that dump parses again over the
 * defaults to a configuration with the same dump; conf_finish keeps
 * handlers within slots.  A failure says why and where.
 */
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, c2; /* about 5 KB each: keep them off the stack */
	struct buf err = BUF_INIT, d1 = BUF_INIT, d2 = BUF_INIT;

	conf_defaults(&c);
	if (conf_parse(&c, (const char *)data, size, "fuzz.conf", &err) < 0) {
		FUZZ_CHECK(!strncmp(buf_cstr(&err), "fuzz.conf:", 10));
		goto out;
	}
	FUZZ_CHECK(conf_dump(&c, &d1) == 0);
	conf_defaults(&c2);
	FUZZ_CHECK(conf_parse(&c2, d1.data, d1.len, "dump", &err) == 0);
	FUZZ_CHECK(conf_dump(&c2, &d2) == 0);
	FUZZ_CHECK(d1.len == d2.len && !memcmp(d1.data, d2.data, d1.len));
	conf_finish(&c);
	FUZZ_CHECK(c.handlers >= 1 && c.handlers <= c.slots);
out:
	buf_release(&err);
	buf_release(&d1);
	buf_release(&d2);
	return 0;
}
