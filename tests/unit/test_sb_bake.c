/*
 * Tests for pool mode's baked set (sandbox/sb_bake.c): when a code joins
 * (after SB_BAKE_AFTER loader runs, with room), its worker text and module
 * files, refusal of a code new in a workerd that did not start, dropping of
 * old ones, and making room only from codes unused for SB_BAKE_STALE
 * requests.  The pool's use of the set, with a real workerd, is in
 * test_sb_pool.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "code.h"
#include "sb_bake.h"
#include "banned.h"

static char dir[] = "/tmp/oyster-test-bake.XXXXXX";

static void make_code(struct code *c, const char *src)
{
	code_init(c);
	ck_assert_int_eq(code_from_js(c, src, strlen(src), NULL, NULL), CODE_OK);
}

static int exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

START_TEST(test_offer_and_find)
{
	struct sb_bake b;
	struct code c;
	char key[16];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sb_bake_init(&b);
	make_code(&c, "export default { fetch() { return new Response('x'); } }");
	/* not due yet */
	ck_assert_int_eq(sb_bake_offer(&b, dir, "k0", &c, "2023-03-07", SB_BAKE_AFTER - 1), -1);
	ck_assert_int_eq(sb_bake_find(&b, "k0"), -1);
	/* due: entry 0, its worker text and its module file */
	ck_assert_int_eq(sb_bake_offer(&b, dir, "k0", &c, "2023-03-07", SB_BAKE_AFTER), 0);
	ck_assert_int_eq(sb_bake_find(&b, "k0"), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b.e[0].worker), "const b0 :Workerd.Worker = ("));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b.e[0].worker), "esModule = embed \"b0m0\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b.e[0].worker), "globalOutbound = \"deny-all\""));
	ck_assert(exists("b0m0"));
	/* offered again: already in */
	ck_assert_int_eq(sb_bake_offer(&b, dir, "k0", &c, "2023-03-07", 9), -1);
	ck_assert_int_eq(sb_bake_find(&b, NULL), -1);
	ck_assert_int_eq(sb_bake_find(&b, ""), -1);
	/* full: no room until an entry has been unused for SB_BAKE_STALE requests */
	for (int i = 1; i < SB_BAKE_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(sb_bake_offer(&b, dir, key, &c, "2023-03-07", SB_BAKE_AFTER), i);
	}
	ck_assert_int_eq(sb_bake_offer(&b, dir, "new", &c, "2023-03-07", SB_BAKE_AFTER), -1);
	for (int i = 0; i < SB_BAKE_STALE; i++)
		sb_bake_tick(&b, i % 2 ? 0 : 2); /* entries 0 and 2 stay in use */
	ck_assert_int_eq(sb_bake_offer(&b, dir, "new", &c, "2023-03-07", SB_BAKE_AFTER), 1);
	ck_assert_int_eq(sb_bake_find(&b, "k1"), -1);
	ck_assert_int_eq(sb_bake_find(&b, "new"), 1);
	sb_bake_release(&b);
	code_release(&c);
	cleanup();
}
END_TEST

START_TEST(test_refuse)
{
	struct sb_bake b;
	struct code c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sb_bake_init(&b);
	make_code(&c, "export default { fetch() { return new Response('x'); } }");
	ck_assert_int_eq(sb_bake_offer(&b, dir, "old", &c, "2023-03-07", SB_BAKE_AFTER), 0);
	sb_bake_settle(&b); /* a workerd started with it */
	ck_assert_int_eq(sb_bake_offer(&b, dir, "new", &c, "2023-03-07", SB_BAKE_AFTER), 1);
	/* the next did not start: the new code goes, for good */
	ck_assert_uint_eq(sb_bake_refuse(&b, dir), 1);
	ck_assert_int_eq(sb_bake_find(&b, "new"), -1);
	ck_assert_int_eq(sb_bake_find(&b, "old"), 0);
	ck_assert(!exists("b1m0"));
	ck_assert_int_eq(sb_bake_offer(&b, dir, "new", &c, "2023-03-07", SB_BAKE_AFTER), -1);
	/* with nothing new, the old ones go, and may come back */
	ck_assert_uint_eq(sb_bake_refuse(&b, dir), 1);
	ck_assert_int_eq(sb_bake_find(&b, "old"), -1);
	ck_assert(!exists("b0m0"));
	ck_assert_int_eq(sb_bake_offer(&b, dir, "old", &c, "2023-03-07", SB_BAKE_AFTER), 0);
	ck_assert_uint_eq(sb_bake_refuse(&b, dir), 1);
	ck_assert_uint_eq(sb_bake_refuse(&b, dir), 0);
	sb_bake_release(&b);
	code_release(&c);
	cleanup();
}
END_TEST

START_TEST(test_bad_code_or_key)
{
	struct sb_bake b;
	struct code c;
	char longkey[SB_BAKE_KEY_MAX + 8];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sb_bake_init(&b);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	make_code(&c, "export default { fetch() { return new Response('x'); } }");
	ck_assert_int_eq(sb_bake_offer(&b, dir, longkey, &c, "2023-03-07", SB_BAKE_AFTER), -1);
	/* a code sb_capnp cannot express (no ES module main) is refused */
	free(c.main);
	c.main = strdup("missing.js");
	ck_assert_int_eq(sb_bake_offer(&b, dir, "k", &c, "2023-03-07", SB_BAKE_AFTER), -1);
	ck_assert_int_eq(sb_bake_find(&b, "k"), -1);
	ck_assert_str_eq(buf_cstr(&b.e[0].worker), "");
	sb_bake_release(&b);
	code_release(&c);
	cleanup();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sb_bake");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_offer_and_find);
	tcase_add_test(tc, test_refuse);
	tcase_add_test(tc, test_bad_code_or_key);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
