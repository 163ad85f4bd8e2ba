// SPDX-License-Identifier: GPL-2.0
/*
 * Tests that fail, crash, hang, skip and leak processes on purpose.  Run by
 * selftest.c, which checks the TAP output; the expected results live
 * there, so keep the two files in sync.
 *
 * Run directly (without SELFTEST_FAIL_RUN=1 in the environment) it runs
 * nothing and reports success, so that a glob over test programs does not
 * trip over it.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

__attribute__((constructor))
static void gate(void)
{
	if (getenv("SELFTEST_FAIL_RUN"))
		return;
	printf("TAP version 13\n1..0 # SKIP only run by selftest\n");
	printf("0 passed, 0 failed, 0 skipped\n");
	exit(0);
}

static void no_core(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
}

TEST(pass_basic)
{
	int64_t neg = -1;
	uint64_t big = UINT64_MAX;

	ASSERT_EQ(1, 1);
	ASSERT_LT(neg, 0u);
	ASSERT_GT(big, (uint64_t)INT64_MAX);
	EXPECT_NE(neg, big);
	EXPECT_TRUE(1);
	EXPECT_STREQ("x", "x");
}

TEST(expect_continues)
{
	EXPECT_EQ(1, 2);
	TH_LOG("after expect\nsecond line");
}

TEST(assert_stops)
{
	ASSERT_EQ(1, 2);
	TH_LOG("NOT REACHED assert");
}

TEST(values_printed)
{
	int *p = (int *)(uintptr_t)0x1000;

	EXPECT_EQ((int64_t)-5, (uint64_t)7);
	EXPECT_EQ(UINT64_MAX, 0);
	EXPECT_GT(-1, 0u);
	EXPECT_STREQ("a\nb", "c");
	EXPECT_NULL(p);
	EXPECT_NE_NULL(NULL);
	EXPECT_FALSE(3);
	EXPECT_LE(INT64_MAX, INT64_MIN);
}

TEST(skip_reason)
{
	SKIP(return, "no %s here", "frobnicator");
	TH_LOG("NOT REACHED skip");
}

TEST(skip_then_fail)
{
	SKIP(, "skipped but then fails");
	EXPECT_EQ(0, 1);
}

TEST(crash_abort)
{
	no_core();
	abort();
}

TEST(crash_segv)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	no_core();
	sigaction(SIGSEGV, &sa, NULL);
	raise(SIGSEGV);
}

TEST_TIMEOUT(hang, 1)
{
	for (;;)
		pause();
}

TEST(exit_early)
{
	exit(0);
}

TEST(exit_status)
{
	_exit(3);
}

static void append_pid(const char *path)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len)
		perror("write");
	close(fd);
}

/*
 * Leave a child in the test's process group and a setsid() daemon behind,
 * their pids appended to $SELFTEST_PIDFILE.
 */
static void spawn_leftovers(struct __test_metadata *_metadata)
{
	const char *pidfile = getenv("SELFTEST_PIDFILE");
	int pfd[2];
	pid_t pid;
	char c;

	ASSERT_NE_NULL(pidfile);
	ASSERT_EQ(pipe(pfd), 0);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		append_pid(pidfile);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(read(pfd[0], &c, 1), 1);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setsid();
		if (fork() == 0) {
			append_pid(pidfile);
			if (write(pfd[1], "x", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	ASSERT_EQ(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	close(pfd[1]);
}

TEST(leftover)
{
	spawn_leftovers(_metadata);
}

TEST(grandchild_expect)
{
	int status;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		EXPECT_EQ(1, 2);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_EQ(status, 0);
}

TEST(grandchild_assert)
{
	int status;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		ASSERT_EQ(1, 2);
		TH_LOG("NOT REACHED grandchild");
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	TH_LOG("grandchild exit status %d", WEXITSTATUS(status));
}

FIXTURE(fx) {
	int value;
};

FIXTURE_SETUP(fx)
{
	self->value = 42;
}

FIXTURE_TEARDOWN(fx)
{
	TH_LOG("teardown value=%d", self->value);
}

TEST_F(fx, pass)
{
	ASSERT_EQ(self->value, 42);
}

TEST_F(fx, assert_fail)
{
	self->value = 7;
	ASSERT_EQ(self->value, 8);
	self->value = 9;
}

TEST_F_TIMEOUT(fx, slow, 1)
{
	for (;;)
		pause();
}

FIXTURE(fxskip) {
	int unused;
};

FIXTURE_SETUP(fxskip)
{
	SKIP(return, "setup skipped");
}

FIXTURE_TEARDOWN(fxskip)
{
	TH_LOG("fxskip teardown ran");
}

TEST_F(fxskip, body)
{
	TH_LOG("NOT REACHED fxskip body");
}

FIXTURE(fxtd) {
	int unused;
};

FIXTURE_SETUP(fxtd)
{
}

FIXTURE_TEARDOWN(fxtd)
{
	EXPECT_EQ(1, 0);
}

TEST_F(fxtd, teardown_fails)
{
}

TEST(fx_plain)
{
}

/* Only meaningful with HARNESS_TIMEOUT set below 3 s. */
TEST(hang_default)
{
	if (!getenv("HARNESS_TIMEOUT"))
		SKIP(return, "needs HARNESS_TIMEOUT");
	sleep(3);
}

/* selftest.c sends SIGTERM to the harness while this runs. */
TEST(interrupt_me)
{
	if (!getenv("SELFTEST_INTERRUPT"))
		SKIP(return, "needs SELFTEST_INTERRUPT");
	spawn_leftovers(_metadata);
	TH_LOG("waiting for SIGTERM");
	for (;;)
		pause();
}

TEST_HARNESS_MAIN
