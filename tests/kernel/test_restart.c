// SPDX-License-Identifier: GPL-2.0
/*
 * Restarts without loss, in the test kernel, on the front end
 * ktest_frontend() picks: fscached is killed with SIGKILL again and again
 * while readers go through two mounted images, and each time a new daemon
 * takes the cache device (or fanotify group) over from its holder
 * (nydus-snapshotter's supervisor, or systemd's fd store). Every reader
 * must finish with every byte right. On cachefiles it never sees an error;
 * on fanotify a read the killed daemon had taken but not yet answered gets
 * EIO (the new daemon cannot know its range: README), which the readers
 * retry and count, and no read may see a zero where data belongs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "harness.h"
#include "holder.h"
#include "ktest.h"

#define KILLS		20
#define READERS		4
/* Each step of a restart; generous: a loaded machine slows UML down a lot. */
#define STEP_MS		30000
/* After the last kill: a reader that reads nothing for this long is stuck. */
#define STUCK_MS	60000
/* ...and readers that get on but have not finished by then are too slow. */
#define SLOW_MS		600000
/* A restart slower than this is said, with its time. */
#define SLOW_RESTART_MS	5000
/* How often a long wait for the readers says where it is. */
#define HEARTBEAT_MS	60000

/* What each reader has done, in memory shared with the test. */
struct reader_progress {
	struct ktest_read_counts c;	/* eio: reads retried */
	int stop;			/* set by the test after the last kill */
};

FIXTURE(failover) {
	const char *fe;			/* "cachefiles" or "fanotify" */
	struct ktest_daemon d;
	char blobs[PATH_MAX];
	char src[PATH_MAX];
	char dir[PATH_MAX];
	char cache[PATH_MAX];
	char sock[PATH_MAX + 16];
	char mnt[2][PATH_MAX];
	struct ktest_supervisor sup;
	struct ktest_fdstore store;
	pid_t readers[READERS];
	struct reader_progress *progress;	/* READERS of them, shared */
	unsigned int restarts;
};

FIXTURE_SETUP(failover)
{
	int i;

	memset(self, 0, sizeof(*self));
	self->sup.fd = -1;
	self->store.fd = -1;
	KTEST_PICK_FRONTEND(self->fe);
	KTEST_SKIP_UNLESS_FAILOVER();
	/* One of its two images is lz4hc (6.8 would need an uncompressed twin). */
	KTEST_SKIP_UNLESS_COMPRESSED();
	snprintf(self->blobs, sizeof(self->blobs), "%s/blobs", ktest_images());
	snprintf(self->src, sizeof(self->src), "%s/src/main", ktest_images());
	ASSERT_EQ(0, ktest_mkdtemp("failover", self->dir, sizeof(self->dir)));
	ASSERT_EQ(0, ktest_mkdtemp("cache", self->cache, sizeof(self->cache)));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", self->dir);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt[i], PATH_MAX));
	ktest_supervisor_init(&self->sup, self->dir);
	self->progress = mmap(NULL, READERS * sizeof(*self->progress),
			      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);
	ASSERT_NE(MAP_FAILED, self->progress);
}

static int remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

FIXTURE_TEARDOWN(failover)
{
	int i;

	for (i = 0; i < READERS; i++)
		if (self->readers[i] > 0) {
			kill(self->readers[i], SIGKILL);
			waitpid(self->readers[i], NULL, 0);
		}
	for (i = 0; i < 2; i++)
		umount2(self->mnt[i], MNT_DETACH);
	if (self->d.pid > 0)
		EXPECT_EQ(0, ktest_daemon_stop(&self->d));
	/* The last copy of the device goes: the cache is unbound. */
	ktest_supervisor_destroy(&self->sup);
	ktest_fdstore_close(&self->store);
	if (self->progress && self->progress != MAP_FAILED)
		munmap(self->progress, READERS * sizeof(*self->progress));
	/*
	 * The cache (about 340 MiB) would stay on the guest's disk: rounds in
	 * one boot then fill it, and cachefiles refuses writes (ENOBUFS).
	 */
	if (self->cache[0] && remove_tree(self->cache))
		fprintf(stderr, "# could not remove %s\n", self->cache);
}

/*
 * Read the whole tree once, then again and again until the test says stop
 * (each time in another order): a fast machine (fanotify on the host) gets
 * through it before the kills end, and every kill must meet readers. On
 * fanotify every read raises an event, cached or not, which the daemon must
 * answer.
 */
static void reader_main(const char *src, const char *mnt, unsigned int seed,
			bool retry_eio, struct reader_progress *p)
{
	_exit(ktest_read_tree_shuffled(src, mnt, seed,
				       retry_eio ? KTEST_EIO_RETRIED :
						   KTEST_EIO_FAILS,
				       &p->stop, &p->c));
}

static int start_readers(FIXTURE_DATA(failover) *self)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < READERS; i++) {
		self->readers[i] = fork();
		if (self->readers[i] < 0)
			return -errno;
		if (!self->readers[i])
			reader_main(self->src, self->mnt[i % 2], 1000 + i,
				    ktest_on_fanotify(&self->d),
				    &self->progress[i]);
	}
	return 0;
}

/* How many readers still read; each one that ended gives its status. */
static int readers_running(FIXTURE_DATA(failover) *self, int *failed)
{
	int i, status, running = 0;

	for (i = 0; i < READERS; i++) {
		if (self->readers[i] <= 0)
			continue;
		if (waitpid(self->readers[i], &status, WNOHANG) == 0) {
			running++;
			continue;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			(*failed)++;
		self->readers[i] = 0;
	}
	return running;
}

/*
 * The two images of the "main" tree: one read lazily on either front end
 * (ktest_lazy_main()), and a compressed one.
 */
static const char *image_of(FIXTURE_DATA(failover) *self, int i)
{
	return i ? "lz4hc" : ktest_lazy_main(&self->d, NULL);
}

/*
 * Both images, with a configuration of their own as the snapshotter gives
 * it (cachefiles binds them through the API, in domain "restart").
 */
static int mount_images(FIXTURE_DATA(failover) *self)
{
	char cfg[PATH_MAX + 256];
	int i, ret;

	snprintf(cfg, sizeof(cfg),
		 "{\"version\": 2, \"id\": \"k\", \"backend\": {\"type\": \"localfs\","
		 " \"localfs\": {\"dir\": \"%s\"}}, \"cache\": {\"type\": \"fscache\"}}",
		 self->blobs);
	for (i = 0; i < 2; i++) {
		ret = ktest_mount_config(&self->d, image_of(self, i), "restart",
					 cfg, self->mnt[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Small requests: many READs in flight at any moment of a kill. */
#define DAEMON_ARGS(self) "--apisock", (self)->sock, "--id", "ktest", \
	"--readahead-kb", "0", "--fetch-unit-kb", "4"

/*
 * As nydus-snapshotter: a hot upgrade starts the new daemon with --upgrade;
 * a failover with the dead one's command line, to which the busy device
 * says what to do. Every other restart is each.
 */
static int restart_by_supervisor(FIXTURE_DATA(failover) *self)
{
	const char *extra[] = { DAEMON_ARGS(self), "--supervisor",
				self->sup.path, "--upgrade", NULL };
	int ret;

	if (self->restarts++ % 2)
		extra[sizeof(extra) / sizeof(extra[0]) - 2] = NULL;
	ret = ktest_daemon_spawn(&self->d, self->cache, NULL, extra);
	if (!ret && (ret = ktest_api_wait_state(self->sock, "INIT", STEP_MS)))
		fprintf(stderr, "# restart %u: no INIT in %d ms\n", self->restarts, STEP_MS);
	if (!ret && (ret = ktest_supervisor_give(&self->sup, self->sock)))
		fprintf(stderr, "# restart %u: takeover: %s\n", self->restarts, strerror(-ret));
	if (!ret && ktest_api(self->sock, "PUT", "/api/v1/daemon/start", NULL) != 204)
		ret = -EPROTO;
	if (!ret && (ret = ktest_api_wait_state(self->sock, "RUNNING", STEP_MS)))
		fprintf(stderr, "# restart %u: no RUNNING in %d ms\n", self->restarts, STEP_MS);
	/* As the snapshotter after a recovery: keep the new daemon's states. */
	if (!ret && (ret = ktest_supervisor_fetch(&self->sup, self->sock)))
		fprintf(stderr, "# restart %u: sendfd: %s\n", self->restarts, strerror(-ret));
	return ret;
}

static int restart_by_fdstore(FIXTURE_DATA(failover) *self)
{
	const char *extra[] = { DAEMON_ARGS(self), NULL };
	struct ktest_spawn how = { .notify_socket = self->store.path,
				   .listen_fd = self->store.fd };
	int ret;

	ret = ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how);
	if (!ret)
		ret = ktest_daemon_wait_ready(&self->d);
	if (!ret)
		ret = ktest_fdstore_wait_fd(&self->store, STEP_MS);
	return ret;
}

static uint64_t blocks_read(FIXTURE_DATA(failover) *self)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < READERS; i++)
		sum += __atomic_load_n(&self->progress[i].c.blocks,
				       __ATOMIC_RELAXED);
	return sum;
}

/* Where a reader that does not get on is, in its own and the kernel's words. */
static void report_reader(FIXTURE_DATA(failover) *self, int i)
{
	struct reader_progress *p = &self->progress[i];
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	fprintf(stderr, "# reader %d (pid %d): %llu blocks, in %s at %lld\n",
		i, self->readers[i], (unsigned long long)p->c.blocks, p->c.file,
		(long long)p->c.off);
	snprintf(path, sizeof(path), "/proc/%d/stack", self->readers[i]);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/wchan", self->readers[i]);
		fd = open(path, O_RDONLY);
	}
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "# %s:\n%s\n", path, buf);
	}
}

/* What every daemon of the test warned about, and the kernel's messages. */
static void dump_warnings(void)
{
	char cmd[PATH_MAX + 256];
	int ret;

	fflush(stdout);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd),
		 "for f in $(ls -tr %s/daemon.*/log); do grep -H -E ' (warn|error) ' \"$f\"; done | "
		 "tail -n 80 | sed 's/^/# /' >&2; dmesg | tail -n 40 | sed 's/^/# dmesg: /' >&2",
		 ktest_scratch());
	ret = system(cmd);
	(void)ret;
}

/*
 * Wait for the readers to finish for as long as they get on: a loaded
 * machine only slows them. -ETIMEDOUT when none read a block for STUCK_MS,
 * a read lost across a restart, after saying where each one is.
 */
static int wait_for_readers(FIXTURE_DATA(failover) *self, int *failed)
{
	uint64_t last = blocks_read(self), now, reqs;
	unsigned int still = 0, waited = 0;
	int i;

	while (readers_running(self, failed)) {
		sleep_ms(100);
		waited += 100;
		now = blocks_read(self);
		still = now != last ? 0 : still + 100;
		last = now;
		/* A long wait says how it goes, so that a hang shows where. */
		if (waited % HEARTBEAT_MS == 0)
			fprintf(stderr, "# waiting for the readers: %u s after the last kill, %llu blocks read, none for %u s\n",
				waited / 1000, (unsigned long long)now,
				still / 1000);
		if (still < STUCK_MS && waited < SLOW_MS)
			continue;
		if (still >= STUCK_MS)
			fprintf(stderr, "# no reader read a block for %d ms after the last kill\n",
				STUCK_MS);
		else
			fprintf(stderr, "# the readers still read %d ms after the last kill\n",
				SLOW_MS);
		for (i = 0; i < READERS; i++)
			if (self->readers[i] > 0)
				report_reader(self, i);
		if (!ktest_frontend_counter(&self->d, "read_requests", &reqs))
			fprintf(stderr, "# the daemon has had %llu READs\n",
				(unsigned long long)reqs);
		return -ETIMEDOUT;
	}
	TH_LOG("the readers ended %u.%u s after the last kill, %llu blocks read in all",
	       waited / 1000, waited % 1000 / 100,
	       (unsigned long long)blocks_read(self));
	return 0;
}

/*
 * SIGKILL the daemon KILLS times while the readers read, restarting it
 * with @restart each time; then every reader must have ended cleanly, and
 * a remount must be served from the cache alone.
 */
static void kill_while_reading(struct __test_metadata *_metadata,
			       FIXTURE_DATA(failover) *self,
			       int (*restart)(FIXTURE_DATA(failover) *))
{
	unsigned int seed = 7, kills, busy = 0;
	struct ktest_tree_stats st;
	uint64_t t0;
	char err[PATH_MAX + 128];
	uint64_t before, after, eio;
	int failed = 0, ret, i;

	ASSERT_EQ(0, start_readers(self));
	for (kills = 0; kills < KILLS; kills++) {
		sleep_ms(50 + rand_r(&seed) % 200);
		if (readers_running(self, &failed))
			busy++;
		ASSERT_EQ(0, kill(self->d.pid, SIGKILL));
		ASSERT_EQ(128 + SIGKILL, ktest_daemon_wait(&self->d, 10000));
		t0 = monotonic_us();
		ret = restart(self);
		if (monotonic_us() - t0 > SLOW_RESTART_MS * 1000ULL)
			fprintf(stderr, "# restart %u took %llu ms\n", kills + 1,
				(unsigned long long)(monotonic_us() - t0) / 1000);
		if (ret) {
			ktest_daemon_dump_log(&self->d);
			ASSERT_EQ(0, ret);
		}
	}
	for (i = 0; i < READERS; i++)
		__atomic_store_n(&self->progress[i].stop, 1, __ATOMIC_RELEASE);
	ret = wait_for_readers(self, &failed);
	if (ret == -ETIMEDOUT || failed)
		dump_warnings();
	for (i = 0, eio = 0; i < READERS; i++)
		eio += self->progress[i].c.eio;
	TH_LOG("%u kills, %u of them while readers were reading; %d of %d readers failed; %llu reads got EIO and were retried",
	       kills, busy, failed, READERS, (unsigned long long)eio);
	EXPECT_EQ(0, readers_running(self, &failed));
	EXPECT_EQ(0, failed);
	EXPECT_EQ(KILLS, busy);

	/* Everything is in the cache now: a remount costs no backend read. */
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &before));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt[i]));
	EXPECT_EQ(0, ktest_drop_caches());
	ASSERT_EQ(0, mount_images(self));
	for (i = 0; i < 2; i++) {
		ret = ktest_compare_trees(self->src, self->mnt[i], &st, err,
					  sizeof(err));
		if (ret)
			TH_LOG("%s", err);
		EXPECT_EQ(0, ret);
	}
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &after));
	TH_LOG("remount after the kills: %llu backend reads",
	       (unsigned long long)(after - before));
	EXPECT_EQ(before, after);
}

/*
 * nydus-snapshotter's failover and hot upgrade: --supervisor, sendfd, a new
 * daemon with or without --upgrade, takeover, start.
 */
TEST_F_TIMEOUT(failover, kill9_twenty_times_restarted_through_the_supervisor, 900)
{
	const char *extra[] = { DAEMON_ARGS(self), "--supervisor",
				self->sup.path, NULL };

	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, self->cache, NULL, extra));
	ASSERT_EQ(0, mount_images(self));
	ASSERT_EQ(0, ktest_supervisor_fetch(&self->sup, self->sock));
	/* fanotify's mounts are in the cache directory's state, not in these. */
	if (!ktest_on_fanotify(&self->d))
		ASSERT_NE(NULL, strstr(self->sup.states, "\"lz4hc\""));
	kill_while_reading(_metadata, self, restart_by_supervisor);
}

/* systemd: FDSTORE=1 keeps the device, LISTEN_FDS gives it back. */
TEST_F_TIMEOUT(failover, kill9_twenty_times_restarted_from_the_fd_store, 900)
{
	const char *extra[] = { DAEMON_ARGS(self), NULL };
	struct ktest_spawn how = { .listen_fd = -1 };

	ASSERT_EQ(0, ktest_fdstore_open(&self->store, self->dir));
	how.notify_socket = self->store.path;
	ASSERT_EQ(0, ktest_daemon_spawn_with(&self->d, self->cache, NULL,
					     extra, &how));
	ASSERT_EQ(0, ktest_daemon_wait_ready(&self->d));
	ASSERT_EQ(0, ktest_fdstore_wait_fd(&self->store, 10000));
	ASSERT_EQ(0, mount_images(self));
	kill_while_reading(_metadata, self, restart_by_fdstore);
	ktest_fdstore_wait_fd(&self->store, 0);
	EXPECT_EQ(KILLS + 1, self->store.ready);
}

TEST_HARNESS_MAIN
