// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the test harness.
 *
 * The checks that must fail are in selftest-fail.c; this program runs it
 * (from the same directory, or $HARNESS_SELFTEST_FAIL) and checks its TAP
 * output line by line, its summary line and its exit status.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>

/* ---- checks that pass, run in this process ---- */

enum color { RED, GREEN };

struct bits {
	unsigned int small : 3;
	int neg : 5;
};

static int fn(void)
{
	return 0;
}

TEST(cmp_types)
{
	const char c = 'a';
	unsigned char uc = 200;
	short sh = -3;
	bool b = true;
	enum color col = GREEN;
	struct bits bf = { .small = 5, .neg = -4 };
	size_t sz = 3;
	ssize_t ssz = -1;
	const long cl = -7;
	char arr[4] = "abc";
	DIR *dir = opendir("/");
	int (*fp)(void) = fn;
	void *vp = NULL;

	ASSERT_NE_NULL(dir);
	EXPECT_EQ(c, 'a');
	EXPECT_EQ(uc, 200);
	EXPECT_LT(sh, 0);
	EXPECT_TRUE(b);
	EXPECT_EQ(col, GREEN);
	EXPECT_EQ(bf.small, 5);
	EXPECT_EQ(bf.neg, -4);
	EXPECT_EQ(sz, 3);
	EXPECT_LT(ssz, sz);
	EXPECT_EQ(cl, -7);
	EXPECT_STREQ(arr, "abc");
	EXPECT_STRNE(arr, "abd");
	EXPECT_NE_NULL(arr);
	EXPECT_EQ(fp, fn);
	EXPECT_NULL(vp);
	EXPECT_EQ(vp, NULL);
	EXPECT_NE(dir, NULL);
	EXPECT_FALSE(vp);
	EXPECT_STREQ(NULL, NULL);
	EXPECT_STRNE(NULL, "x");
	EXPECT_EQ(fn(), 0);
	closedir(dir);
}

TEST(cmp_mixed_sign)
{
	int calls = 0;

	ASSERT_LT(-1, 0u);
	ASSERT_GT(0u, -1);
	ASSERT_NE((int64_t)-1, UINT64_MAX);
	ASSERT_LE(INT64_MIN, 0);
	ASSERT_GE(UINT64_MAX, INT64_MAX);
	ASSERT_GT(UINT64_MAX, INT64_MAX);
	ASSERT_EQ((uint64_t)5, (int8_t)5);
	ASSERT_EQ(INT64_MIN, INT64_MIN);
	ASSERT_EQ(UINT64_MAX, UINT64_MAX);

	/* What must compare false, checked without failing the test. */
	ASSERT_FALSE(_th_cmp(_TH_VAL(-1), TH_OP_EQ, _TH_VAL(UINT64_MAX)));
	ASSERT_FALSE(_th_cmp(_TH_VAL(-1), TH_OP_GT, _TH_VAL(0u)));
	ASSERT_FALSE(_th_cmp(_TH_VAL(UINT64_MAX), TH_OP_LT, _TH_VAL(-1)));
	ASSERT_FALSE(_th_cmp(_TH_VAL(INT64_MIN), TH_OP_GE, _TH_VAL(INT64_MAX)));
	ASSERT_FALSE(_th_cmp(_TH_VAL(3), TH_OP_NE, _TH_VAL(3ull)));
	ASSERT_FALSE(_th_cmp(_TH_VAL(2), TH_OP_LE, _TH_VAL(1)));

	/* Each operand is evaluated exactly once. */
	EXPECT_EQ(++calls, 1);
	EXPECT_EQ(calls, 1);
}

FIXTURE(inproc) {
	char *buf;
	int fd;
};

FIXTURE_SETUP(inproc)
{
	self->buf = strdup("fixture");
	ASSERT_NE_NULL(self->buf);
	self->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(inproc)
{
	free(self->buf);
	if (self->fd > 0)
		close(self->fd);
}

TEST_F(inproc, sees_self)
{
	ASSERT_STREQ(self->buf, "fixture");
	ASSERT_GE(self->fd, 0);
}

/* ---- running selftest-fail ---- */

struct run {
	char **lines;
	size_t n;
	int status;		/* wait status */
};

FIXTURE(sf) {
	char exe[PATH_MAX];
	char pidfile[64];
	struct run r;
};

FIXTURE_SETUP(sf)
{
	const char *env = getenv("HARNESS_SELFTEST_FAIL");
	ssize_t len;
	char *slash;
	int fd;

	if (env && *env) {
		ASSERT_LT(strlen(env), sizeof(self->exe));
		strcpy(self->exe, env);
	} else {
		len = readlink("/proc/self/exe", self->exe,
			       sizeof(self->exe) - 1);
		ASSERT_GT(len, 0);
		self->exe[len] = '\0';
		slash = strrchr(self->exe, '/');
		ASSERT_NE_NULL(slash);
		slash[1] = '\0';
		ASSERT_LT(strlen(self->exe) + strlen("selftest-fail"),
			  sizeof(self->exe));
		strcat(self->exe, "selftest-fail");
	}
	if (access(self->exe, X_OK))
		TH_LOG("%s: not found; build it next to selftest or set HARNESS_SELFTEST_FAIL",
		       self->exe);
	ASSERT_EQ(access(self->exe, X_OK), 0);

	strcpy(self->pidfile, "/tmp/harness-selftest.XXXXXX");
	fd = mkstemp(self->pidfile);
	ASSERT_GE(fd, 0);
	close(fd);

	/* This process is the test's own: the environment is ours to edit. */
	ASSERT_EQ(setenv("SELFTEST_FAIL_RUN", "1", 1), 0);
	ASSERT_EQ(setenv("SELFTEST_PIDFILE", self->pidfile, 1), 0);
	ASSERT_EQ(unsetenv("HARNESS_TIMEOUT"), 0);
	ASSERT_EQ(unsetenv("SELFTEST_INTERRUPT"), 0);
}

FIXTURE_TEARDOWN(sf)
{
	size_t i;

	for (i = 0; i < self->r.n; i++)
		free(self->r.lines[i]);
	free(self->r.lines);
	if (self->pidfile[0])
		unlink(self->pidfile);
}

/*
 * Start selftest-fail with up to 4 arguments, stdout and stderr on a pipe.
 * Returns the read end as a FILE; *pidp gets the pid.
 */
static FILE *start(struct __test_metadata *_metadata, FIXTURE_DATA(sf) *self,
		   const char *const *args, pid_t *pidp)
{
	const char *argv[8] = { self->exe };
	int pfd[2], i;
	pid_t pid;
	FILE *f;

	for (i = 0; args && args[i]; i++) {
		ASSERT_LT(i, 6);
		argv[i + 1] = args[i];
	}
	ASSERT_EQ(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(self->exe, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	ASSERT_NE_NULL(f);
	*pidp = pid;
	return f;
}

/* Read one line into self->r; returns it, or NULL at EOF. */
static const char *read_line(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sf) *self, FILE *f)
{
	char *line = NULL, **lines;
	size_t cap = 0;
	ssize_t len;

	len = getline(&line, &cap, f);
	if (len < 0) {
		free(line);
		return NULL;
	}
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	lines = realloc(self->r.lines, (self->r.n + 1) * sizeof(*lines));
	if (!lines)
		free(line);
	ASSERT_NE_NULL(lines);
	self->r.lines = lines;
	self->r.lines[self->r.n++] = line;
	return line;
}

static void finish(struct __test_metadata *_metadata, FIXTURE_DATA(sf) *self,
		   FILE *f, pid_t pid)
{
	while (read_line(_metadata, self, f))
		;
	fclose(f);
	ASSERT_EQ(waitpid(pid, &self->r.status, 0), pid);
}

static void run(struct __test_metadata *_metadata, FIXTURE_DATA(sf) *self,
		const char *const *args)
{
	pid_t pid;
	FILE *f = start(_metadata, self, args, &pid);

	finish(_metadata, self, f, pid);
}

static ssize_t find_line(FIXTURE_DATA(sf) *self, size_t from, const char *s)
{
	size_t i;

	for (i = from; i < self->r.n; i++) {
		if (!strcmp(self->r.lines[i], s))
			return (ssize_t)i;
	}
	return -1;
}

static size_t count_substr(FIXTURE_DATA(sf) *self, size_t from, size_t to,
			   const char *s)
{
	size_t i, n = 0;

	for (i = from; i < to && i < self->r.n; i++)
		n += strstr(self->r.lines[i], s) != NULL;
	return n;
}

static bool is_result(const char *line)
{
	return !strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7);
}

/* Lines [*from, *to] from "# RUN name" to the test's result line. */
static void block(struct __test_metadata *_metadata, FIXTURE_DATA(sf) *self,
		  const char *name, size_t *from, size_t *to)
{
	char run_line[128];
	ssize_t i;

	snprintf(run_line, sizeof(run_line), "# RUN %s", name);
	i = find_line(self, 0, run_line);
	ASSERT_GE(i, 0);
	*from = (size_t)i;
	for (*to = *from + 1; *to < self->r.n; (*to)++) {
		if (is_result(self->r.lines[*to]))
			return;
	}
	TH_LOG("no result line for %s", name);
	ASSERT_TRUE(0);
}

static void expect_in_block(struct __test_metadata *_metadata,
			    FIXTURE_DATA(sf) *self, const char *name,
			    const char *s, size_t times)
{
	size_t from, to;

	block(_metadata, self, name, &from, &to);
	if (count_substr(self, from, to, s) != times)
		TH_LOG("%s: expected \"%s\" %zu time(s)", name, s, times);
	EXPECT_EQ(count_substr(self, from, to, s), times);
}

static bool proc_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] != 'Z' && p[2] != 'X';
}

static void expect_pids_dead(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sf) *self, int want)
{
	FILE *f = fopen(self->pidfile, "r");
	int pid, n = 0;

	ASSERT_NE_NULL(f);
	while (fscanf(f, "%d", &pid) == 1) {
		n++;
		if (proc_alive(pid))
			TH_LOG("leftover process %d survived", pid);
		EXPECT_FALSE(proc_alive(pid));
		if (proc_alive(pid))
			kill(pid, SIGKILL);
	}
	fclose(f);
	EXPECT_EQ(n, want);
}

static void expect_exit(struct __test_metadata *_metadata,
			FIXTURE_DATA(sf) *self, int code)
{
	ASSERT_TRUE(WIFEXITED(self->r.status));
	ASSERT_EQ(WEXITSTATUS(self->r.status), code);
}

static size_t count_results(FIXTURE_DATA(sf) *self)
{
	size_t i, n = 0;

	for (i = 0; i < self->r.n; i++)
		n += is_result(self->r.lines[i]);
	return n;
}

static const char *const all_results[] = {
	"ok 1 pass_basic",
	"not ok 2 expect_continues",
	"not ok 3 assert_stops",
	"not ok 4 values_printed",
	"ok 5 skip_reason # SKIP no frobnicator here",
	"not ok 6 skip_then_fail",
	"not ok 7 crash_abort",
	"not ok 8 crash_segv",
	"not ok 9 hang",
	"not ok 10 exit_early",
	"not ok 11 exit_status",
	"ok 12 leftover",
	"not ok 13 grandchild_expect",
	"not ok 14 grandchild_assert",
	"ok 15 fx.pass",
	"not ok 16 fx.assert_fail",
	"not ok 17 fx.slow",
	"ok 18 fxskip.body # SKIP setup skipped",
	"not ok 19 fxtd.teardown_fails",
	"ok 20 fx_plain",
	"ok 21 hang_default # SKIP needs HARNESS_TIMEOUT",
	"ok 22 interrupt_me # SKIP needs SELFTEST_INTERRUPT",
};

#define N_RESULTS (sizeof(all_results) / sizeof(all_results[0]))

TEST_F(sf, full_run)
{
	size_t i, from, to, pos = 0;
	char plan[32];

	run(_metadata, self, NULL);

	expect_exit(_metadata, self, 1);
	ASSERT_GE(self->r.n, 3);
	EXPECT_STREQ(self->r.lines[0], "TAP version 13");
	snprintf(plan, sizeof(plan), "1..%zu", N_RESULTS);
	EXPECT_STREQ(self->r.lines[1], plan);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "4 passed, 14 failed, 4 skipped");

	/* Every result once, in order: nothing lost or printed twice. */
	EXPECT_EQ(count_results(self), N_RESULTS);
	for (i = 0; i < N_RESULTS; i++) {
		ssize_t at = find_line(self, pos, all_results[i]);

		if (at < 0)
			TH_LOG("missing or out of order: %s", all_results[i]);
		ASSERT_GE(at, 0);
		pos = (size_t)at + 1;
	}
	/* Nothing but comments between the results. */
	for (i = 2; i < self->r.n - 1; i++) {
		if (self->r.lines[i][0] != '#' && !is_result(self->r.lines[i]))
			TH_LOG("stray line: %s", self->r.lines[i]);
		EXPECT_TRUE(self->r.lines[i][0] == '#' ||
			    is_result(self->r.lines[i]));
	}

	EXPECT_EQ(count_substr(self, 0, self->r.n, "NOT REACHED"), 0);

	expect_in_block(_metadata, self, "expect_continues",
			"selftest-fail.c:", 1);
	expect_in_block(_metadata, self, "expect_continues",
			"# after expect", 1);
	expect_in_block(_metadata, self, "expect_continues",
			"# second line", 1);
	expect_in_block(_metadata, self, "assert_stops",
			": Expected 1 (1) == 2 (2)", 1);
	expect_in_block(_metadata, self, "values_printed",
			": Expected (int64_t)-5 (-5) == (uint64_t)7 (7)", 1);
	expect_in_block(_metadata, self, "values_printed",
			"(18446744073709551615) == 0 (0)", 1);
	expect_in_block(_metadata, self, "values_printed",
			": Expected -1 (-1) > 0u (0)", 1);
	expect_in_block(_metadata, self, "values_printed",
			": Expected \"a\\nb\" (\"a\\nb\") == \"c\" (\"c\")", 1);
	expect_in_block(_metadata, self, "values_printed",
			": Expected p (0x1000) to be NULL", 1);
	expect_in_block(_metadata, self, "values_printed",
			"(NULL) to be non-NULL", 1);
	expect_in_block(_metadata, self, "values_printed",
			": Expected 3 (3) to be false", 1);
	expect_in_block(_metadata, self, "values_printed",
			"(9223372036854775807) <= ", 1);
	expect_in_block(_metadata, self, "values_printed",
			"(-9223372036854775808)", 1);
	expect_in_block(_metadata, self, "skip_then_fail",
			": Expected 0 (0) == 1 (1)", 1);
	expect_in_block(_metadata, self, "crash_abort",
			"# crash_abort: killed by signal SIGABRT", 1);
	expect_in_block(_metadata, self, "crash_segv",
			"# crash_segv: killed by signal SIG", 1);
	expect_in_block(_metadata, self, "hang",
			"# hang: timed out after 1 s", 1);
	expect_in_block(_metadata, self, "exit_early",
			"# exit_early: exited before the test finished", 1);
	expect_in_block(_metadata, self, "exit_status",
			"# exit_status: exited with status 3", 1);
	expect_in_block(_metadata, self, "leftover",
			"# killing leftover process ", 2);
	expect_in_block(_metadata, self, "grandchild_expect",
			": Expected 1 (1) == 2 (2)", 1);
	expect_in_block(_metadata, self, "grandchild_assert",
			"# grandchild exit status 1", 1);
	expect_in_block(_metadata, self, "fx.pass", "# teardown value=42", 1);
	expect_in_block(_metadata, self, "fx.assert_fail",
			": Expected self->value (7) == 8 (8)", 1);
	expect_in_block(_metadata, self, "fx.assert_fail",
			"# teardown value=7", 1);
	expect_in_block(_metadata, self, "fx.slow",
			"# fx.slow: timed out after 1 s", 1);
	expect_in_block(_metadata, self, "fxskip.body",
			"# fxskip teardown ran", 1);
	expect_in_block(_metadata, self, "fxtd.teardown_fails",
			": Expected 1 (1) == 0 (0)", 1);

	/* Teardown output comes after the failure, before the result. */
	block(_metadata, self, "fx.assert_fail", &from, &to);
	EXPECT_EQ(find_line(self, from, "# teardown value=7"), (ssize_t)to - 1);

	expect_pids_dead(_metadata, self, 2);
}

/* The test name from "ok N name" or "not ok N name # SKIP ...". */
static void result_name(const char *line, char *buf, size_t len)
{
	if (!strncmp(line, "not ", 4))
		line += 4;
	line = strchr(line, ' ') + 1;		/* after "ok" */
	line = strchr(line, ' ') + 1;		/* after the number */
	snprintf(buf, len, "%.*s", (int)strcspn(line, " "), line);
}

TEST_F(sf, list)
{
	static const char *const args[] = { "-l", NULL };
	char name[64];
	size_t i;

	run(_metadata, self, args);
	expect_exit(_metadata, self, 0);
	ASSERT_EQ(self->r.n, N_RESULTS);
	for (i = 0; i < N_RESULTS; i++) {
		result_name(all_results[i], name, sizeof(name));
		EXPECT_STREQ(self->r.lines[i], name);
	}
}

TEST_F(sf, filter_prefix)
{
	static const char *const args[] = { "-t", "fx", NULL };

	run(_metadata, self, args);
	expect_exit(_metadata, self, 1);
	ASSERT_GE(self->r.n, 2);
	EXPECT_STREQ(self->r.lines[1], "1..3");
	EXPECT_GE(find_line(self, 0, "ok 1 fx.pass"), 0);
	EXPECT_GE(find_line(self, 0, "not ok 2 fx.assert_fail"), 0);
	EXPECT_GE(find_line(self, 0, "not ok 3 fx.slow"), 0);
	EXPECT_EQ(count_results(self), 3);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "1 passed, 2 failed, 0 skipped");
}

TEST_F(sf, filter_exact_pass)
{
	static const char *const args[] = {
		"-t", "fx.pass", "-t", "fx_plain", NULL
	};

	run(_metadata, self, args);
	expect_exit(_metadata, self, 0);
	ASSERT_GE(self->r.n, 2);
	EXPECT_STREQ(self->r.lines[1], "1..2");
	EXPECT_GE(find_line(self, 0, "ok 1 fx.pass"), 0);
	EXPECT_GE(find_line(self, 0, "ok 2 fx_plain"), 0);
	EXPECT_EQ(count_results(self), 2);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "2 passed, 0 failed, 0 skipped");
}

TEST_F(sf, filter_no_match)
{
	static const char *const args[] = { "-t", "fx.pas", NULL };

	run(_metadata, self, args);
	expect_exit(_metadata, self, 1);
	EXPECT_EQ(count_results(self), 0);
	EXPECT_EQ(count_substr(self, 0, self->r.n, "no test matches 'fx.pas'"),
		  1);
	EXPECT_EQ(count_substr(self, 0, self->r.n, " passed, "), 0);
}

TEST_F(sf, env_timeout)
{
	static const char *const args[] = { "-t", "hang_default", NULL };

	ASSERT_EQ(setenv("HARNESS_TIMEOUT", "1", 1), 0);
	run(_metadata, self, args);
	expect_exit(_metadata, self, 1);
	EXPECT_GE(find_line(self, 0, "not ok 1 hang_default"), 0);
	EXPECT_GE(find_line(self, 0, "# hang_default: timed out after 1 s"), 0);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "0 passed, 1 failed, 0 skipped");
}

TEST_F(sf, bad_env_timeout)
{
	ASSERT_EQ(setenv("HARNESS_TIMEOUT", "1x", 1), 0);
	run(_metadata, self, NULL);
	expect_exit(_metadata, self, 1);
	EXPECT_EQ(count_results(self), 0);
	EXPECT_EQ(count_substr(self, 0, self->r.n, "HARNESS_TIMEOUT"), 1);
}

TEST_F(sf, interrupted)
{
	static const char *const args[] = { "-t", "interrupt_me", NULL };
	const char *line;
	pid_t pid;
	FILE *f;

	ASSERT_EQ(setenv("SELFTEST_INTERRUPT", "1", 1), 0);
	f = start(_metadata, self, args, &pid);
	while ((line = read_line(_metadata, self, f))) {
		if (!strcmp(line, "# waiting for SIGTERM"))
			break;
	}
	EXPECT_NE_NULL(line);
	kill(pid, SIGTERM);
	finish(_metadata, self, f, pid);

	ASSERT_TRUE(WIFSIGNALED(self->r.status));
	EXPECT_EQ(WTERMSIG(self->r.status), SIGTERM);
	EXPECT_GE(find_line(self, 0, "# interrupt_me: interrupted by SIGTERM"),
		  0);
	EXPECT_GE(find_line(self, 0, "not ok 1 interrupt_me"), 0);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "0 passed, 1 failed, 0 skipped");
	expect_pids_dead(_metadata, self, 2);
}

/* Without SELFTEST_FAIL_RUN, selftest-fail runs nothing and passes. */
TEST_F(sf, gate)
{
	ASSERT_EQ(unsetenv("SELFTEST_FAIL_RUN"), 0);
	run(_metadata, self, NULL);
	expect_exit(_metadata, self, 0);
	ASSERT_GE(self->r.n, 1);
	EXPECT_STREQ(self->r.lines[self->r.n - 1],
		     "0 passed, 0 failed, 0 skipped");
}

TEST_HARNESS_MAIN
