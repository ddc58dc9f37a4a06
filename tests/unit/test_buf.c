/*
 * Tests for common/buf.c: the length-carrying byte string.
 *
 * What matters to callers: len is the truth (embedded NULs survive every
 * add), data is NUL-terminated after every successful add, a failed add
 * (past limit, or a size that would overflow) leaves the buffer exactly as
 * it was, and the lifecycle functions (reset, release, detach) do what
 * their names promise.  Growth is checked by content and by the number of
 * reallocations, which must stay logarithmic.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

/* The buffer holds exactly these bytes, NUL-terminated. */
static void assert_bytes(const struct buf *b, const void *want, size_t n)
{
	ck_assert_uint_eq(b->len, n);
	ck_assert_ptr_nonnull(b->data);
	ck_assert_msg(memcmp(b->data, want, n) == 0, "content differs");
	ck_assert_int_eq(b->data[n], '\0');
	ck_assert_uint_gt(b->cap, n);
}

START_TEST(test_init_empty)
{
	struct buf a = BUF_INIT, b;

	memset(&b, 0x5a, sizeof(b));
	buf_init(&b);
	ck_assert_ptr_null(a.data);
	ck_assert_uint_eq(a.len, 0);
	ck_assert_uint_eq(a.cap, 0);
	ck_assert_uint_eq(a.limit, 0);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.limit, 0);
	/* buf_cstr never returns NULL */
	ck_assert_str_eq(buf_cstr(&a), "");
	/* releasing and resetting an empty buffer are no-ops */
	buf_reset(&a);
	buf_release(&a);
	ck_assert_ptr_null(a.data);
	ck_assert_uint_eq(a.len, 0);
}
END_TEST

START_TEST(test_add_basic)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_addstr(&b, "hello"), 0);
	assert_bytes(&b, "hello", 5);
	ck_assert_int_eq(buf_addch(&b, ' '), 0);
	ck_assert_int_eq(buf_add(&b, "world!!", 5), 0);
	assert_bytes(&b, "hello world", 11);
	ck_assert_str_eq(buf_cstr(&b), "hello world");
	/* adding nothing is fine and allocates a terminated string */
	ck_assert_int_eq(buf_add(&b, "", 0), 0);
	assert_bytes(&b, "hello world", 11);
	buf_release(&b);

	ck_assert_int_eq(buf_add(&b, "x", 0), 0);
	assert_bytes(&b, "", 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
}
END_TEST

START_TEST(test_growth)
{
	struct buf b = BUF_INIT;
	size_t reallocs = 0, last_cap = 0;
	const size_t total = 200000;

	for (size_t i = 0; i < total; i++) {
		ck_assert_int_eq(buf_addch(&b, (char)('a' + i % 26)), 0);
		ck_assert_uint_eq(b.len, i + 1);
		ck_assert_uint_gt(b.cap, b.len);
		ck_assert_int_eq(b.data[b.len], '\0');
		if (b.cap != last_cap) {
			reallocs++;
			last_cap = b.cap;
		}
	}
	for (size_t i = 0; i < total; i++)
		ck_assert_int_eq(b.data[i], 'a' + i % 26);
	/* geometric growth: 200000 single-byte adds need ~12 allocations, not thousands */
	ck_assert_uint_le(reallocs, 20);

	/* one big add on top of existing content */
	{
		char *big = malloc(1 << 20);
		ck_assert_ptr_nonnull(big);
		memset(big, 'Z', 1 << 20);
		ck_assert_int_eq(buf_add(&b, big, 1 << 20), 0);
		ck_assert_uint_eq(b.len, total + (1 << 20));
		ck_assert_int_eq(b.data[total - 1], 'a' + (total - 1) % 26);
		ck_assert_int_eq(b.data[total], 'Z');
		ck_assert_int_eq(b.data[b.len - 1], 'Z');
		ck_assert_int_eq(b.data[b.len], '\0');
		free(big);
	}
	buf_release(&b);
}
END_TEST

START_TEST(test_grow_reserves)
{
	struct buf b = BUF_INIT;
	char *before;

	ck_assert_int_eq(buf_grow(&b, 1000), 0);
	ck_assert_uint_ge(b.cap, 1001);
	ck_assert_uint_eq(b.len, 0);
	before = b.data;
	/* the reserved room is used without moving the data */
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_addch(&b, 'q'), 0);
	ck_assert_ptr_eq(b.data, before);
	ck_assert_uint_eq(b.len, 1000);
	buf_release(&b);
}
END_TEST

START_TEST(test_binary_safe)
{
	struct buf b = BUF_INIT;
	const char bin[] = { 'a', '\0', 'b', '\0', '\0', (char)0xff, 'c' };

	ck_assert_int_eq(buf_add(&b, bin, sizeof(bin)), 0);
	assert_bytes(&b, bin, sizeof(bin));
	ck_assert_int_eq(buf_addch(&b, '\0'), 0);
	ck_assert_int_eq(buf_addstr(&b, "tail"), 0);
	ck_assert_uint_eq(b.len, sizeof(bin) + 1 + 4);
	ck_assert_int_eq(b.data[sizeof(bin)], '\0');
	ck_assert_int_eq(memcmp(b.data + sizeof(bin) + 1, "tail", 4), 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	/* C string view stops at the first NUL, len does not */
	ck_assert_str_eq(buf_cstr(&b), "a");

	/* %c with 0 through addf is counted too */
	buf_reset(&b);
	ck_assert_int_eq(buf_addf(&b, "x%cy", 0), 0);
	assert_bytes(&b, "x\0y", 3);
	buf_release(&b);
}
END_TEST

START_TEST(test_addf)
{
	struct buf b = BUF_INIT;
	char big[5000];

	ck_assert_int_eq(buf_addf(&b, "%d-%s-%05.1f", 42, "abc", 3.14159), 0);
	assert_bytes(&b, "42-abc-003.1", 12);
	ck_assert_int_eq(buf_addf(&b, "%s", ""), 0);
	assert_bytes(&b, "42-abc-003.1", 12);
	ck_assert_int_eq(buf_addf(&b, "|%zu|%llx", (size_t)7, 0xdeadbeefULL), 0);
	ck_assert_str_eq(b.data, "42-abc-003.1|7|deadbeef");
	ck_assert_uint_eq(b.len, strlen("42-abc-003.1|7|deadbeef"));

	/* an expansion larger than the current capacity */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&b);
	ck_assert_int_eq(buf_addf(&b, "<%s>", big), 0);
	ck_assert_uint_eq(b.len, sizeof(big) + 1);
	ck_assert_int_eq(b.data[0], '<');
	ck_assert_int_eq(b.data[1], 'k');
	ck_assert_int_eq(b.data[b.len - 2], 'k');
	ck_assert_int_eq(b.data[b.len - 1], '>');
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_release(&b);
}
END_TEST

START_TEST(test_addhex)
{
	struct buf b = BUF_INIT;
	const unsigned char bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xCD, 0xff, 0x10 };
	unsigned char all[256];

	ck_assert_int_eq(buf_addstr(&b, "0x"), 0);
	ck_assert_int_eq(buf_addhex(&b, bytes, sizeof(bytes)), 0);
	assert_bytes(&b, "0x00017f80abcdff10", 18);
	ck_assert_int_eq(buf_addhex(&b, bytes, 0), 0);
	ck_assert_uint_eq(b.len, 18);

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	buf_reset(&b);
	ck_assert_int_eq(buf_addhex(&b, all, 256), 0);
	ck_assert_uint_eq(b.len, 512);
	for (int i = 0; i < 256; i++) {
		char want[3];
		snprintf(want, sizeof(want), "%02x", i);
		ck_assert_int_eq(b.data[2 * i], want[0]);
		ck_assert_int_eq(b.data[2 * i + 1], want[1]);
	}
	ck_assert_int_eq(b.data[512], '\0');
	buf_release(&b);
}
END_TEST

START_TEST(test_limit)
{
	struct buf b = BUF_INIT;
	char *p;

	b.limit = 10;
	ck_assert_int_eq(buf_add(&b, "12345", 5), 0);
	ck_assert_int_eq(buf_add(&b, "67890", 5), 0); /* exactly the limit */
	assert_bytes(&b, "1234567890", 10);
	/* one more byte fails in every form, and leaves the content untouched */
	p = b.data;
	ck_assert_int_eq(buf_addch(&b, 'x'), -1);
	ck_assert_int_eq(buf_add(&b, "x", 1), -1);
	ck_assert_int_eq(buf_addstr(&b, "x"), -1);
	ck_assert_int_eq(buf_addf(&b, "%d", 1), -1);
	ck_assert_int_eq(buf_addhex(&b, (const unsigned char *)"\x01", 1), -1);
	ck_assert_int_eq(buf_grow(&b, 1), -1);
	ck_assert_ptr_eq(b.data, p);
	assert_bytes(&b, "1234567890", 10);
	/* adding nothing still works at the limit */
	ck_assert_int_eq(buf_add(&b, "", 0), 0);

	/* a failed add is all-or-nothing, not a partial copy */
	buf_reset(&b);
	ck_assert_int_eq(buf_addstr(&b, "abcdefgh"), 0);
	ck_assert_int_eq(buf_addstr(&b, "XYZ"), -1);
	assert_bytes(&b, "abcdefgh", 8);
	ck_assert_int_eq(buf_addf(&b, "%s", "XYZ"), -1);
	assert_bytes(&b, "abcdefgh", 8);
	ck_assert_int_eq(buf_addhex(&b, (const unsigned char *)"\x01\x02", 2), -1);
	assert_bytes(&b, "abcdefgh", 8);
	ck_assert_int_eq(buf_addf(&b, "%s", "XY"), 0);
	assert_bytes(&b, "abcdefghXY", 10);

	/* hex of one byte is two characters: 9 + 2 > 10 */
	buf_reset(&b);
	ck_assert_int_eq(buf_add(&b, "123456789", 9), 0);
	ck_assert_int_eq(buf_addhex(&b, (const unsigned char *)"\xff", 1), -1);
	assert_bytes(&b, "123456789", 9);

	/* the limit survives release: the buffer is reusable with the same bound */
	buf_release(&b);
	ck_assert_uint_eq(b.limit, 10);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_add(&b, "12345678901", 11), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);

	/* limit on an empty buffer: a too-large first add fails */
	{
		struct buf c = BUF_INIT;
		c.limit = 3;
		ck_assert_int_eq(buf_addstr(&c, "abcd"), -1);
		ck_assert_uint_eq(c.len, 0);
		ck_assert_int_eq(buf_addstr(&c, "abc"), 0);
		assert_bytes(&c, "abc", 3);
		buf_release(&c);
	}
}
END_TEST

START_TEST(test_overflow)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_addstr(&b, "ab"), 0);
	/* sizes that would wrap around must fail, not allocate a tiny buffer */
	ck_assert_int_eq(buf_grow(&b, SIZE_MAX), -1);
	ck_assert_int_eq(buf_grow(&b, SIZE_MAX - 2), -1);
	ck_assert_int_eq(buf_addhex(&b, (const unsigned char *)"", SIZE_MAX / 2 + 1), -1);
	assert_bytes(&b, "ab", 2);
	buf_release(&b);
}
END_TEST

START_TEST(test_reset)
{
	struct buf b = BUF_INIT;
	char *p;
	size_t cap;

	ck_assert_int_eq(buf_addstr(&b, "something long enough"), 0);
	p = b.data;
	cap = b.cap;
	buf_reset(&b);
	/* allocation kept, content gone, still a valid empty C string */
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.data, p);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_int_eq(buf_addstr(&b, "new"), 0);
	ck_assert_ptr_eq(b.data, p);
	assert_bytes(&b, "new", 3);
	buf_release(&b);
}
END_TEST

START_TEST(test_release)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_addstr(&b, "data"), 0);
	buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.limit, 0);
	/* released buffer is reusable (valgrind checks the old block is freed) */
	ck_assert_int_eq(buf_addstr(&b, "again"), 0);
	assert_bytes(&b, "again", 5);
	buf_release(&b);
	buf_release(&b); /* double release is harmless */
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_detach)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *p;

	ck_assert_int_eq(buf_add(&b, "ab\0cd", 5), 0);
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(memcmp(p, "ab\0cd", 6), 0); /* terminator included */
	/* b is empty and owns nothing */
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(p);

	/* detaching an empty buffer still gives an owned "" */
	len = 99;
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(p, "");
	free(p);

	/* len pointer is optional */
	ck_assert_int_eq(buf_addstr(&b, "xyz"), 0);
	p = buf_detach(&b, NULL);
	ck_assert_str_eq(p, "xyz");
	free(p);
	ck_assert_ptr_null(b.data);

	/* the buffer is usable after detach */
	ck_assert_int_eq(buf_addstr(&b, "more"), 0);
	assert_bytes(&b, "more", 4);
	buf_release(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_empty);
	tcase_add_test(tc, test_add_basic);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_grow_reserves);
	tcase_add_test(tc, test_binary_safe);
	tcase_add_test(tc, test_addf);
	tcase_add_test(tc, test_addhex);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_release);
	tcase_add_test(tc, test_detach);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
