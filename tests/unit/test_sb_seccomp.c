/*
 * Tests for sandbox/sb_seccomp.c.  A child under the filter gets EACCES
 * for an AF_INET socket, may use AF_UNIX, and is killed with SIGSYS by a
 * syscall off the list (ptrace); a child that stays on the list exits
 * normally.  Loaded from the program sb_seccomp_prepare() compiled once in
 * the parent, the child compiles nothing itself (sb_seccomp_compiles()
 * still 1 in it); without a prepared program sb_seccomp_apply() compiles
 * its own, with the same effect.
 *
 * Each check runs in a forked child, which reports through its exit code:
 * 0 all well, 10 + n the check that failed.  Under valgrind, which cannot
 * run a seccomp-filtered process, the tests only say so.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_seccomp.h"
#include "banned.h"

#if defined(__has_include) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

#define SKIP_UNDER_VALGRIND()                                                  \
	do {                                                                   \
		if (UNDER_VALGRIND()) {                                        \
			fprintf(stderr, "seccomp cannot run under valgrind: skipped\n"); \
			return;                                                \
		}                                                              \
	} while (0)

/* In the child: filter, then probe.  Never returns. */
static void filtered_child(unsigned want_compiles, int try_ptrace)
{
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(10);
	if (sb_seccomp_apply() < 0)
		_exit(11);
	if (sb_seccomp_compiles() != want_compiles)
		_exit(12);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 || errno != EACCES)
		_exit(13);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(14);
	close(fd);
	if (try_ptrace) {
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
		_exit(15); /* still alive: the filter let it through */
	}
	_exit(0);
}

static int run_child(unsigned want_compiles, int try_ptrace)
{
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		filtered_child(want_compiles, try_ptrace);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* First: with CK_FORK=no (valgrind) the tests share one process. */
START_TEST(test_unprepared_compiles_in_child)
{
	int st;

	SKIP_UNDER_VALGRIND();
	ck_assert_uint_eq(sb_seccomp_compiles(), 0);
	st = run_child(1, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	ck_assert_uint_eq(sb_seccomp_compiles(), 0); /* the parent compiled nothing */
}
END_TEST

START_TEST(test_prepared_once_and_enforced)
{
	int st;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(sb_seccomp_prepare(), 0);
	ck_assert_int_eq(sb_seccomp_prepare(), 0);
	ck_assert_uint_eq(sb_seccomp_compiles(), 1); /* once, however often asked */
	for (int i = 0; i < 3; i++) {
		st = run_child(1, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	}
	st = run_child(1, 1);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "ptrace: child status %#x, want SIGSYS", st);
	ck_assert_uint_eq(sb_seccomp_compiles(), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sb_seccomp");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_unprepared_compiles_in_child);
	tcase_add_test(tc, test_prepared_once_and_enforced);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
