// SPDX-License-Identifier: GPL-2.0
/*
 * Network changes against a real server on a test host: each test runs in
 * a network namespace of its own, joined by a veth pair to a second one
 * where tests/servers/faulty-server.py listens on 10.77.0.2. The test
 * changes addresses and links under running fetches, as a network restart
 * or a failover would, and the traffic never leaves the two namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "lib/compiler.h"
#include "harness.h"
#include "backend/netwatch.h"
#include "srv.h"

#define PEER_ADDR	"10.77.0.2"

FIXTURE(net) {
	char ns[64];		/* the server's namespace */
	char root[PATH_MAX];
	char blob[PATH_MAX + 16];
	char url[128];
	pid_t server;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The faulty server inside namespace @ns; its port once it listens. */
static pid_t start_server(const char *ns, const char *root, int *port)
{
	char nspath[128], portfile[PATH_MAX + 16], script[PATH_MAX];
	unsigned int waited;
	pid_t pid;
	FILE *f;
	int fd;

	snprintf(portfile, sizeof(portfile), "%s/port", root);
	snprintf(script, sizeof(script), "%s/tests/servers/faulty-server.py",
		 getenv("FSCACHED_ROOT") ? getenv("FSCACHED_ROOT") : ".");
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
	pid = fork();
	if (pid == 0) {
		fd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(127);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("python3", "python3", script, "--root", root,
		       "--port-file", portfile, "--bind", PEER_ADDR, NULL);
		_exit(127);
	}
	for (waited = 0; pid > 0 && waited < 100; waited++) {
		f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", port) == 1;

			fclose(f);
			if (ok)
				return pid;
		}
		usleep(100000);
	}
	if (pid > 0)
		kill(pid, SIGKILL);
	return -1;
}

FIXTURE_SETUP(net)
{
	int port = 0;

	self->server = -1;
	if (geteuid() != 0 || sh("command -v ip >/dev/null && command -v python3 >/dev/null"))
		SKIP(return, "needs root, iproute2 and python3");
	/* Our own namespace: whatever the test does stays in it. */
	if (unshare(CLONE_NEWNET))
		SKIP(return, "cannot make a network namespace: %s", strerror(errno));
	snprintf(self->ns, sizeof(self->ns), "fscached-nw-%d", getpid());
	/* IPv4 only: IPv6's duplicate address detection would be events
	 * of its own in the middle of the tests. */
	ASSERT_EQ(0, sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null; "
			"ip link set lo up && ip netns add %s && "
			"ip link add v0 type veth peer name v1 netns %s && "
			"ip addr add 10.77.0.1/24 dev v0 && ip link set v0 up && "
			"ip -n %s link set lo up && ip -n %s addr add " PEER_ADDR "/24 dev v1 && "
			"ip -n %s link set v1 up",
			self->ns, self->ns, self->ns, self->ns, self->ns));
	ASSERT_EQ(0, test_tmpdir(self->root, sizeof(self->root)));
	snprintf(self->blob, sizeof(self->blob), "%s/blob", self->root);
	ASSERT_EQ(0, test_make_blob(self->blob, 2 * 1048576, 9));
	self->server = start_server(self->ns, self->root, &port);
	ASSERT_GT(self->server, 0);
	snprintf(self->url, sizeof(self->url), "http://" PEER_ADDR ":%d", port);
	ASSERT_EQ(0, netwatch_start());
	/* Until the set-up's own events are over. */
	for (unsigned int i = 0; i < 20; i++) {
		uint64_t gen = netwatch_generation();

		usleep(500000);
		if (gen == netwatch_generation())
			break;
	}
}

FIXTURE_TEARDOWN(net)
{
	netwatch_stop();
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, NULL, 0);
	}
	if (self->ns[0])
		sh("ip netns del %s 2>/dev/null", self->ns);
	if (self->root[0])
		sh("rm -rf %s", self->root);
}

/* Wait up to @ms for @cond. */
#define WAIT_FOR(cond, ms)						\
	({								\
		unsigned int _w;					\
		for (_w = 0; !(cond) && _w < (ms) / 20; _w++)		\
			usleep(20000);					\
		(cond);							\
	})

TEST_F(net, changes_of_addresses_and_links_are_seen)
{
	uint64_t gen = netwatch_generation();

	EXPECT_TRUE(netwatch_online());
	ASSERT_EQ(0, sh("ip addr add 10.78.0.1/24 dev v0"));
	EXPECT_TRUE(WAIT_FOR(netwatch_generation() > gen, 5000));
	ASSERT_EQ(0, sh("ip link set v0 down"));
	EXPECT_TRUE(WAIT_FOR(!netwatch_online(), 5000));
	ASSERT_EQ(0, sh("ip link set v0 up"));
	EXPECT_TRUE(WAIT_FOR(netwatch_online(), 5000));
}

struct fetch {
	struct backend *be;
	const char *blob;
	int result;
	bool done;	/* atomic */
};

static void *fetch_main(void *arg)
{
	struct fetch *f = arg;

	f->result = test_backend_compare(f->be, "blob", f->blob, 1048576,
					 1048576);
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static bool fetch_done(struct fetch *f)
{
	return __atomic_load_n(&f->done, __ATOMIC_ACQUIRE);
}

/*
 * A server that has gone quiet (its answer would take ten minutes) while
 * the host's address changes: the transfer is given up at once and
 * retried on a new connection, long before its 300 s timeout.
 */
TEST_F_TIMEOUT(net, a_stalled_transfer_is_retried_at_once_after_a_change, 60)
{
	struct fetch f = { .blob = self->blob };
	char json[512], err[256];
	struct netwatch_stats st;
	pthread_t t;

	snprintf(json, sizeof(json),
		 "{\"url\": \"%s/stallx1-600\", \"timeout\": 300, \"retry_limit\": 0}",
		 self->url);
	ASSERT_EQ(0, test_backend("http", json, &f.be, err, sizeof(err)));
	ASSERT_EQ(0, pthread_create(&t, NULL, fetch_main, &f));
	sleep(2);
	EXPECT_FALSE(fetch_done(&f));
	ASSERT_EQ(0, sh("ip addr add 10.78.0.1/24 dev v0"));
	EXPECT_TRUE(WAIT_FOR(fetch_done(&f), 20000));
	pthread_join(t, NULL);
	EXPECT_EQ(0, f.result);
	netwatch_get_stats(&st);
	EXPECT_GE(st.restarted, 1);
	backend_destroy(f.be);
}

/*
 * With the only link down a fetch would fail at once ("network is
 * unreachable") and spend its retries; it waits for the link instead,
 * is counted as held, and gets its bytes once the link is back.
 */
TEST_F_TIMEOUT(net, fetches_wait_while_no_link_is_up, 60)
{
	struct fetch f = { .blob = self->blob };
	char json[512], err[256];
	struct netwatch_stats st;
	pthread_t t;

	snprintf(json, sizeof(json),
		 "{\"url\": \"%s/ok\", \"timeout\": 30, \"retry_limit\": 1, \"retry_delay_ms\": 10}",
		 self->url);
	ASSERT_EQ(0, test_backend("http", json, &f.be, err, sizeof(err)));
	ASSERT_EQ(0, sh("ip link set v0 down"));
	ASSERT_TRUE(WAIT_FOR(!netwatch_online(), 5000));
	ASSERT_EQ(0, pthread_create(&t, NULL, fetch_main, &f));
	sleep(2);
	EXPECT_FALSE(fetch_done(&f));
	netwatch_get_stats(&st);
	EXPECT_FALSE(st.online);
	EXPECT_GE(st.held, 1);
	ASSERT_EQ(0, sh("ip link set v0 up"));
	EXPECT_TRUE(WAIT_FOR(fetch_done(&f), 20000));
	pthread_join(t, NULL);
	EXPECT_EQ(0, f.result);
	backend_destroy(f.be);
}

TEST_HARNESS_MAIN
