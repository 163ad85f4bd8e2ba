// SPDX-License-Identifier: GPL-2.0
/*
 * fscached test harness: test registry, runner and check reporting.
 *
 * The runner forks one child per test.  The child leads a new process
 * group, runs setup/body/teardown and records its result in a shared
 * anonymous mapping.  The parent waits for it with a timeout, then kills
 * whatever is left of the test: its process group and, since the parent
 * is a child subreaper, every orphaned descendant that was reparented to
 * it (daemons that called setsid() included).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

/* How long to keep killing leftover processes before giving up. */
#define TH_CLEANUP_MS		10000
#define TH_REASON_MAX		256
#define TH_STR_MAX		256

struct th_result {
	int failed;
	int skipped;
	int done;
	char reason[TH_REASON_MAX];
};

static struct __test_metadata **th_tests;
static size_t th_ntests;
static size_t th_cap;

/* Shared with the test child (and anything it forks). */
static struct th_result *th_res;

static pid_t th_harness_pid;
static sigset_t th_orig_mask;
static sigset_t th_wait_set;		/* SIGCHLD + fatal signals */
static struct sigaction th_orig_chld;

static const int th_fatal_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

static unsigned int th_passed, th_failed, th_skipped;

/* ---- registry ---- */

void _th_register(struct __test_metadata *t)
{
	if (th_ntests == th_cap) {
		size_t cap = th_cap ? th_cap * 2 : 64;
		void *p = realloc(th_tests, cap * sizeof(*th_tests));

		if (!p) {
			fprintf(stderr, "harness: out of memory\n");
			abort();
		}
		th_tests = p;
		th_cap = cap;
	}
	th_tests[th_ntests++] = t;
}

/*
 * Constructor order is not something to rely on: sort by source file
 * (in order of first registration) and line, so tests run as written.
 */
static void th_sort_tests(void)
{
	size_t i, j, k;
	size_t *key = calloc(th_ntests ? th_ntests : 1, sizeof(*key));

	if (!key)
		return;
	for (i = 0; i < th_ntests; i++) {
		key[i] = i;
		for (j = 0; j < i; j++) {
			if (!strcmp(th_tests[j]->file, th_tests[i]->file)) {
				key[i] = key[j];
				break;
			}
		}
	}
	for (i = 1; i < th_ntests; i++) {
		struct __test_metadata *t = th_tests[i];
		size_t tk = key[i];

		for (k = i; k > 0; k--) {
			const struct __test_metadata *prev = th_tests[k - 1];

			if (key[k - 1] < tk ||
			    (key[k - 1] == tk && prev->line <= t->line))
				break;
			th_tests[k] = th_tests[k - 1];
			key[k] = key[k - 1];
		}
		th_tests[k] = t;
		key[k] = tk;
	}
	free(key);
}

/* ---- output helpers ---- */

/* Print text as TAP comment lines, one "# " per line. */
static void th_comment(const char *text)
{
	const char *p = text, *nl;

	do {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		printf("# %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	} while (*p);
	fflush(stdout);
}

__attribute__((format(printf, 1, 0)))
static void th_vcomment(const char *fmt, va_list ap)
{
	char small[512], *buf = small;
	va_list aq;
	int len;

	va_copy(aq, ap);
	len = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(small)) {
		buf = malloc((size_t)len + 1);
		if (!buf) {
			th_comment(small);
			return;
		}
		vsnprintf(buf, (size_t)len + 1, fmt, ap);
	}
	th_comment(buf);
	if (buf != small)
		free(buf);
}

__attribute__((format(printf, 1, 2)))
static void th_commentf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vcomment(fmt, ap);
	va_end(ap);
}

void _th_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vcomment(fmt, ap);
	va_end(ap);
}

static const char *th_signame(int sig)
{
	static char buf[32];

	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGQUIT: return "SIGQUIT";
	case SIGILL: return "SIGILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGUSR1: return "SIGUSR1";
	case SIGSEGV: return "SIGSEGV";
	case SIGUSR2: return "SIGUSR2";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	case SIGSYS: return "SIGSYS";
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* ---- checks ---- */

void _th_fail(struct __test_metadata *_metadata)
{
	(void)_metadata;
	if (th_res)
		__atomic_store_n(&th_res->failed, 1, __ATOMIC_SEQ_CST);
}

void _th_bail(struct __test_metadata *_metadata)
{
	_th_fail(_metadata);
	if (getpid() != _metadata->pid) {
		/* A process the test forked: never run the test's teardown. */
		fflush(NULL);
		_exit(1);
	}
	if (syscall(SYS_gettid) != getpid()) {
		th_comment("ASSERT failed in a secondary thread, ending the test without teardown");
		fflush(NULL);
		_exit(1);
	}
	if (_metadata->jmp_armed)
		longjmp(_metadata->env, 1);
	fflush(NULL);
	exit(1);
}

int _th_cmp(struct _th_val a, int op, struct _th_val b)
{
	int c;

	if (a.kind == TH_KIND_SIGNED && b.kind == TH_KIND_SIGNED) {
		c = (a.s > b.s) - (a.s < b.s);
	} else if (a.kind == TH_KIND_SIGNED && a.s < 0) {
		c = -1;		/* negative < any unsigned value */
	} else if (b.kind == TH_KIND_SIGNED && b.s < 0) {
		c = 1;
	} else {
		uintmax_t x = a.kind == TH_KIND_SIGNED ? (uintmax_t)a.s : a.u;
		uintmax_t y = b.kind == TH_KIND_SIGNED ? (uintmax_t)b.s : b.u;

		c = (x > y) - (x < y);
	}

	switch (op) {
	case TH_OP_EQ: return c == 0;
	case TH_OP_NE: return c != 0;
	case TH_OP_LT: return c < 0;
	case TH_OP_LE: return c <= 0;
	case TH_OP_GT: return c > 0;
	case TH_OP_GE: return c >= 0;
	}
	return 0;
}

static const char *th_opstr(int op)
{
	static const char *const ops[] = {
		[TH_OP_EQ] = "==", [TH_OP_NE] = "!=", [TH_OP_LT] = "<",
		[TH_OP_LE] = "<=", [TH_OP_GT] = ">", [TH_OP_GE] = ">=",
	};

	if (op < 0 || op > TH_OP_GE)
		return "?";
	return ops[op];
}

static void th_fmtval(char *buf, size_t len, struct _th_val v)
{
	switch (v.kind) {
	case TH_KIND_SIGNED:
		snprintf(buf, len, "%jd", v.s);
		break;
	case TH_KIND_UNSIGNED:
		snprintf(buf, len, "%ju", v.u);
		break;
	default:
		if (v.u)
			snprintf(buf, len, "0x%jx", v.u);
		else
			snprintf(buf, len, "NULL");
		break;
	}
}

void _th_report_cmp(struct __test_metadata *_metadata, const char *file,
		    int line, const char *ea, struct _th_val a, int op,
		    const char *eb, struct _th_val b)
{
	char va[32], vb[32];

	th_fmtval(va, sizeof(va), a);
	th_fmtval(vb, sizeof(vb), b);
	th_commentf("%s:%d: Expected %s (%s) %s %s (%s)",
		    file, line, ea, va, th_opstr(op), eb, vb);
	_th_fail(_metadata);
}

void _th_report_bool(struct __test_metadata *_metadata, const char *file,
		     int line, const char *e, struct _th_val v,
		     const char *what)
{
	char val[32];

	th_fmtval(val, sizeof(val), v);
	th_commentf("%s:%d: Expected %s (%s) to be %s", file, line, e, val,
		    what);
	_th_fail(_metadata);
}

int _th_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

/* Quote s C-style into buf so that it stays on one TAP line. */
static void th_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0, n = 0;

	if (!s) {
		snprintf(buf, len, "NULL");
		return;
	}
	buf[o++] = '"';
	for (; *s && o + 8 < len; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == TH_STR_MAX)
			break;
		switch (c) {
		case '\n': o += (size_t)snprintf(buf + o, len - o, "\\n"); break;
		case '\t': o += (size_t)snprintf(buf + o, len - o, "\\t"); break;
		case '\r': o += (size_t)snprintf(buf + o, len - o, "\\r"); break;
		case '"': o += (size_t)snprintf(buf + o, len - o, "\\\""); break;
		case '\\': o += (size_t)snprintf(buf + o, len - o, "\\\\"); break;
		default:
			if (isprint(c))
				buf[o++] = (char)c;
			else
				o += (size_t)snprintf(buf + o, len - o,
						      "\\x%02x", c);
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	if (*s)
		snprintf(buf + o, len - o, "...");
}

void _th_report_str(struct __test_metadata *_metadata, const char *file,
		    int line, const char *ea, const char *a, int op,
		    const char *eb, const char *b)
{
	char qa[TH_STR_MAX * 4 + 16], qb[TH_STR_MAX * 4 + 16];

	th_quote(qa, sizeof(qa), a);
	th_quote(qb, sizeof(qb), b);
	th_commentf("%s:%d: Expected %s (%s) %s %s (%s)",
		    file, line, ea, qa, th_opstr(op), eb, qb);
	_th_fail(_metadata);
}

void _th_skip(struct __test_metadata *_metadata, const char *fmt, ...)
{
	va_list ap;
	char *p;

	(void)_metadata;
	if (!th_res)
		return;
	va_start(ap, fmt);
	vsnprintf(th_res->reason, sizeof(th_res->reason), fmt, ap);
	va_end(ap);
	for (p = th_res->reason; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	th_res->skipped = 1;
}

/* ---- the test child ---- */

__attribute__((noreturn))
static void th_child(struct __test_metadata *t)
{
	int fd;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != th_harness_pid)
		_exit(1);
	sigaction(SIGCHLD, &th_orig_chld, NULL);
	sigprocmask(SIG_SETMASK, &th_orig_mask, NULL);

	/* Tests run in a background process group: keep them off the tty. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}

	t->pid = getpid();
	if (setjmp(t->env) == 0) {
		t->jmp_armed = 1;
		if (t->setup)
			t->setup(t, t->self);
		if (!th_res->failed && !th_res->skipped)
			t->body(t, t->self);
	}
	if (getpid() != t->pid) {
		/* A child the test forked fell out of the test function. */
		th_comment("a process forked by the test returned from it; use _exit()");
		_th_fail(t);
		fflush(NULL);
		_exit(1);
	}
	/* Teardown always runs, even after a failed ASSERT or a SKIP. */
	if (t->teardown) {
		if (setjmp(t->env) == 0) {
			t->jmp_armed = 1;
			t->teardown(t, t->self);
		}
	}
	t->jmp_armed = 0;
	th_res->done = 1;
	fflush(NULL);
	/* exit(), not _exit(): lets LeakSanitizer check the test. */
	exit(0);
}

/* ---- the parent ---- */

static long long th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void th_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Read pgrp, ppid, state and comm of a process from /proc/PID/stat. */
static int th_proc_stat(pid_t pid, pid_t *ppid, pid_t *pgrp, char *state,
			char *comm, size_t commlen)
{
	char path[64], buf[512], *lp, *rp;
	ssize_t n;
	int fd, p, g;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp)
		return -EIO;
	if (sscanf(rp + 1, " %c %d %d", state, &p, &g) != 3)
		return -EIO;
	snprintf(comm, commlen, "%.*s", (int)(rp - lp - 1), lp + 1);
	*ppid = p;
	*pgrp = g;
	return 0;
}

/*
 * Kill and reap everything the test left behind: members of its process
 * group and any process reparented to us.  Returns when none is left or
 * after TH_CLEANUP_MS.
 */
static void th_kill_leftovers(pid_t pgid)
{
	pid_t self = getpid(), seen[32];
	size_t nseen = 0, i;
	long long deadline = th_now_ms() + TH_CLEANUP_MS;
	long nap = 1;

	for (;;) {
		bool busy = false;
		DIR *d;
		struct dirent *de;
		int r;

		/* Look first, so that group members get logged too. */
		d = opendir("/proc");
		while (d && (de = readdir(d))) {
			char state, comm[64];
			pid_t pid, ppid = 0, pgrp = 0;
			char *end;
			bool logged = false;

			pid = (pid_t)strtol(de->d_name, &end, 10);
			if (*end || pid <= 0)
				continue;
			if (th_proc_stat(pid, &ppid, &pgrp, &state, comm,
					 sizeof(comm)))
				continue;
			if (ppid != self && pgrp != pgid)
				continue;
			if (state == 'Z' || state == 'X')
				continue;
			busy = true;
			/* Our own children cannot be recycled before we reap. */
			if (ppid == self)
				kill(pid, SIGKILL);
			for (i = 0; i < nseen; i++)
				logged |= seen[i] == pid;
			if (!logged && nseen < sizeof(seen) / sizeof(seen[0])) {
				seen[nseen++] = pid;
				th_commentf("killing leftover process %d (%s)",
					    (int)pid, comm);
			}
		}
		if (d)
			closedir(d);
		if (kill(-pgid, SIGKILL) == 0)
			busy = true;

		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (r == 0)
			busy = true;	/* children still dying */
		if (!busy)
			return;
		if (th_now_ms() > deadline) {
			th_comment("giving up on leftover processes that do not die");
			return;
		}
		th_sleep_ms(nap);
		if (nap < 50)
			nap *= 2;
	}
}

static unsigned int th_timeout_for(const struct __test_metadata *t,
				   long env_timeout)
{
	if (env_timeout >= 0)
		return (unsigned int)env_timeout;
	return t->timeout ? t->timeout : TH_DEFAULT_TIMEOUT;
}

static void th_summary(void)
{
	printf("%u passed, %u failed, %u skipped\n",
	       th_passed, th_failed, th_skipped);
	fflush(stdout);
}

__attribute__((noreturn))
static void th_die_by_signal(int sig, unsigned int num,
			     const struct __test_metadata *t)
{
	sigset_t set;

	th_commentf("%s: interrupted by %s", t->name, th_signame(sig));
	printf("not ok %u %s\n", num, t->name);
	th_failed++;
	th_summary();
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * Wait for the test process until deadline (ms, CLOCK_MONOTONIC; < 0: no
 * limit).  Returns 1 once reaped, 0 at the deadline, -1 on error, and 2
 * if a fatal signal arrived (stored in *fatal).
 */
static int th_wait(pid_t pid, int *status, long long deadline, int *fatal)
{
	for (;;) {
		struct timespec ts;
		long long left;
		pid_t r;
		int sig;

		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR) {
			th_commentf("waitpid: %s", strerror(errno));
			return -1;
		}
		if (deadline >= 0) {
			left = deadline - th_now_ms();
			if (left <= 0)
				return 0;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
		}
		sig = sigtimedwait(&th_wait_set, NULL,
				   deadline >= 0 ? &ts : NULL);
		if (sig > 0 && sig != SIGCHLD) {
			*fatal = sig;
			return 2;
		}
	}
}

static void th_run_one(struct __test_metadata *t, unsigned int num,
		       long env_timeout)
{
	unsigned int timeout = th_timeout_for(t, env_timeout);
	long long deadline = -1;
	bool timed_out = false;
	int status = 0, fatal = 0, r;
	pid_t pid;

	memset(th_res, 0, sizeof(*th_res));
	th_commentf("RUN %s", t->name);
	fflush(stdout);
	fflush(stderr);

	pid = fork();
	if (pid < 0) {
		th_commentf("%s: fork: %s", t->name, strerror(errno));
		printf("not ok %u %s\n", num, t->name);
		th_failed++;
		return;
	}
	if (pid == 0)
		th_child(t);
	setpgid(pid, pid);	/* also done by the child; avoids a race */

	if (timeout)
		deadline = th_now_ms() + (long long)timeout * 1000;
	r = th_wait(pid, &status, deadline, &fatal);
	timed_out = r == 0;
	/* Timed out or interrupted: kill it, but do not wait forever. */
	if (r == 0 || r == 2) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		deadline = th_now_ms() + TH_CLEANUP_MS;
		do {
			int sig = 0;

			r = th_wait(pid, &status, deadline, &sig);
			if (r == 2 && !fatal)
				fatal = sig;
		} while (r == 2);
		if (r == 0) {
			th_commentf("%s: the test process does not die",
				    t->name);
			r = -1;
		}
	}
	if (r < 0)
		status = -1;

	th_kill_leftovers(pid);
	if (fatal)
		th_die_by_signal(fatal, num, t);

	if (timed_out) {
		th_commentf("%s: timed out after %u s", t->name, timeout);
		th_res->failed = 1;
	} else if (status == -1) {
		th_res->failed = 1;
	} else if (WIFSIGNALED(status)) {
		th_commentf("%s: killed by signal %s%s", t->name,
			    th_signame(WTERMSIG(status)),
			    WCOREDUMP(status) ? " (core dumped)" : "");
		th_res->failed = 1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		th_commentf("%s: exited with status %d", t->name,
			    WEXITSTATUS(status));
		th_res->failed = 1;
	} else if (!th_res->done) {
		th_commentf("%s: exited before the test finished", t->name);
		th_res->failed = 1;
	}

	if (th_res->failed) {
		printf("not ok %u %s\n", num, t->name);
		th_failed++;
	} else if (th_res->skipped) {
		if (th_res->reason[0])
			printf("ok %u %s # SKIP %s\n", num, t->name,
			       th_res->reason);
		else
			printf("ok %u %s # SKIP\n", num, t->name);
		th_skipped++;
	} else {
		printf("ok %u %s\n", num, t->name);
		th_passed++;
	}
	fflush(stdout);
}

/* Exact match, or a prefix that ends at a '.' of the name. */
static bool th_name_matches(const char *name, const char *filter)
{
	size_t len = strlen(filter);

	if (strncmp(name, filter, len))
		return false;
	return !name[len] || name[len] == '.' || (len && filter[len - 1] == '.');
}

static void th_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [-l] [-t NAME]...\n"
		"  -t NAME  run only tests named NAME or NAME.* (repeatable)\n"
		"  -l       list test names and exit\n"
		"environment: HARNESS_TIMEOUT=SECONDS overrides every test's timeout\n"
		"             (0 disables timeouts)\n",
		prog);
}

static int th_setup_signals(void)
{
	struct sigaction sa;
	size_t i;

	/*
	 * SIGCHLD must not be ignored (that would auto-reap), and the wait
	 * loop collects it and the fatal signals with sigtimedwait().
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, &th_orig_chld))
		return -errno;

	sigemptyset(&th_wait_set);
	sigaddset(&th_wait_set, SIGCHLD);
	for (i = 0; i < sizeof(th_fatal_sigs) / sizeof(th_fatal_sigs[0]); i++) {
		struct sigaction old;

		/* Keep ignoring what we were told to ignore (nohup). */
		if (!sigaction(th_fatal_sigs[i], NULL, &old) &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaddset(&th_wait_set, th_fatal_sigs[i]);
	}
	if (sigprocmask(SIG_BLOCK, &th_wait_set, &th_orig_mask))
		return -errno;
	return 0;
}

/*
 * Test children exit() from inside _th_main(): keep its allocations in
 * globals, so LeakSanitizer does not report them as the test's leaks.
 */
static const char **th_filters;
static bool *th_sel;

int _th_main(int argc, char **argv)
{
	const char **filters, *env;
	size_t nfilters = 0, i, j, nsel = 0;
	bool list = false, *sel = NULL;
	long env_timeout = -1;
	unsigned int num = 0;
	int opt, ret = 1;

	filters = th_filters = calloc((size_t)argc + 1, sizeof(*filters));
	if (!filters)
		goto out;
	while ((opt = getopt(argc, argv, "t:lh")) != -1) {
		switch (opt) {
		case 't':
			filters[nfilters++] = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			th_usage(stdout, argv[0]);
			ret = 0;
			goto out;
		default:
			th_usage(stderr, argv[0]);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0],
			argv[optind]);
		th_usage(stderr, argv[0]);
		goto out;
	}

	env = getenv("HARNESS_TIMEOUT");
	if (env && *env) {
		char *end;

		errno = 0;
		env_timeout = strtol(env, &end, 10);
		if (errno || *end || env_timeout < 0 || env_timeout > 86400 * 7) {
			fprintf(stderr, "%s: bad HARNESS_TIMEOUT '%s'\n",
				argv[0], env);
			goto out;
		}
	}

	th_sort_tests();
	sel = th_sel = calloc(th_ntests ? th_ntests : 1, sizeof(*sel));
	if (!sel)
		goto out;
	for (i = 0; i < th_ntests; i++)
		sel[i] = !nfilters;
	for (j = 0; j < nfilters; j++) {
		bool any = false;

		for (i = 0; i < th_ntests; i++) {
			if (th_name_matches(th_tests[i]->name, filters[j])) {
				sel[i] = true;
				any = true;
			}
		}
		if (!any) {
			fprintf(stderr, "%s: no test matches '%s'\n", argv[0],
				filters[j]);
			goto out;
		}
	}
	for (i = 0; i < th_ntests; i++)
		nsel += sel[i];

	if (list) {
		for (i = 0; i < th_ntests; i++) {
			if (sel[i])
				printf("%s\n", th_tests[i]->name);
		}
		ret = 0;
		goto out;
	}

	th_harness_pid = getpid();
	th_res = mmap(NULL, sizeof(*th_res), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (th_res == MAP_FAILED) {
		th_res = NULL;
		fprintf(stderr, "%s: mmap: %s\n", argv[0], strerror(errno));
		goto out;
	}
	if (th_setup_signals()) {
		fprintf(stderr, "%s: signal setup: %s\n", argv[0],
			strerror(errno));
		goto out;
	}
	/* Orphans of the tests (setsid()ed daemons too) come back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	printf("TAP version 13\n1..%zu\n", nsel);
	fflush(stdout);
	for (i = 0; i < th_ntests; i++) {
		if (sel[i])
			th_run_one(th_tests[i], ++num, env_timeout);
	}
	th_summary();
	ret = th_failed ? 1 : 0;

out:
	free(th_sel);
	free(th_filters);
	th_sel = NULL;
	th_filters = NULL;
	return ret;
}
