/*
 * Tests for common/code_cache.c: hits and misses by kind and key, LRU
 * eviction order under the byte budget, refusals (too large, duplicate,
 * disabled cache) that leave the caller's code untouched, and release.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "code_cache.h"
#include "banned.h"

static void make_code(struct code *c, const char *src)
{
	code_init(c);
	ck_assert_int_eq(code_from_js(c, src, strlen(src), NULL, NULL), CODE_OK);
}

static void key_of(unsigned char k[32], unsigned char v)
{
	memset(k, 0, 32);
	k[0] = v;
	k[1] = (unsigned char)(v * 7);
	k[31] = v;
}

START_TEST(test_hit_miss_kinds)
{
	struct code_cache cc;
	struct code c;
	unsigned char k[32];
	const struct code_cache_entry *e;

	code_cache_init(&cc, 1 << 20);
	key_of(k, 1);
	ck_assert_ptr_null(code_cache_get(&cc, CODE_CACHE_ID, k));
	make_code(&c, "export default {}");
	e = code_cache_put(&cc, CODE_CACHE_ID, k, &c, "0xabc", 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(c.mods); /* taken */
	e = code_cache_get(&cc, CODE_CACHE_ID, k);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->id_hex, "0xabc");
	ck_assert_int_eq(e->reuse, 1);
	ck_assert_str_eq((const char *)e->code.mods[0].data, "export default {}");
	/* the same 32 bytes under the other kind are another key */
	ck_assert_ptr_null(code_cache_get(&cc, CODE_CACHE_TX, k));
	ck_assert_uint_eq(cc.hits, 1);
	ck_assert_uint_eq(cc.misses, 2);
	/* a second put of the key is refused and leaves the code with the caller */
	make_code(&c, "export default { x: 1 }");
	ck_assert_ptr_null(code_cache_put(&cc, CODE_CACHE_ID, k, &c, "0xabc", 0));
	ck_assert_ptr_nonnull(c.mods);
	code_release(&c);
	code_cache_release(&cc);
	ck_assert_uint_eq(cc.count, 0);
	ck_assert_uint_eq(cc.bytes, 0);
}
END_TEST

START_TEST(test_lru_eviction)
{
	struct code_cache cc;
	struct code c;
	unsigned char k[32];
	char src[2100];
	size_t one;

	/* each entry is a bit over 2000 bytes: room for three */
	memset(src, 'a', sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	memcpy(src, "//", 2);
	make_code(&c, src);
	key_of(k, 100);
	code_cache_init(&cc, 1 << 20);
	ck_assert_ptr_nonnull(code_cache_put(&cc, CODE_CACHE_ID, k, &c, "0x", 0));
	one = cc.bytes;
	code_cache_release(&cc);

	code_cache_init(&cc, one * 3);
	for (unsigned char i = 1; i <= 3; i++) {
		make_code(&c, src);
		key_of(k, i);
		ck_assert_ptr_nonnull(code_cache_put(&cc, CODE_CACHE_ID, k, &c, "0x", 0));
	}
	ck_assert_uint_eq(cc.count, 3);
	key_of(k, 1);
	ck_assert_ptr_nonnull(code_cache_get(&cc, CODE_CACHE_ID, k)); /* 1 is now the newest */
	make_code(&c, src);
	key_of(k, 4);
	ck_assert_ptr_nonnull(code_cache_put(&cc, CODE_CACHE_ID, k, &c, "0x", 0));
	ck_assert_uint_eq(cc.count, 3);
	key_of(k, 2);
	ck_assert_ptr_null(code_cache_get(&cc, CODE_CACHE_ID, k)); /* the least recently used went */
	for (unsigned char i = 1; i <= 4; i += 2) {
		key_of(k, i);
		ck_assert_ptr_nonnull(code_cache_get(&cc, CODE_CACHE_ID, k));
	}
	key_of(k, 4);
	ck_assert_ptr_nonnull(code_cache_get(&cc, CODE_CACHE_ID, k));
	ck_assert_uint_le(cc.bytes, cc.max_bytes);
	code_cache_release(&cc);
}
END_TEST

START_TEST(test_refusals)
{
	struct code_cache cc;
	struct code c;
	unsigned char k[32];

	key_of(k, 9);
	code_cache_init(&cc, 0); /* off */
	make_code(&c, "export default {}");
	ck_assert_ptr_null(code_cache_put(&cc, CODE_CACHE_TX, k, &c, "0x1", 0));
	ck_assert_ptr_nonnull(c.mods);
	code_cache_release(&cc);
	code_cache_init(&cc, 100); /* smaller than any entry */
	ck_assert_ptr_null(code_cache_put(&cc, CODE_CACHE_TX, k, &c, "0x1", 0));
	ck_assert_uint_eq(cc.count, 0);
	code_release(&c);
	code_cache_release(&cc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("code_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hit_miss_kinds);
	tcase_add_test(tc, test_lru_eviction);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
