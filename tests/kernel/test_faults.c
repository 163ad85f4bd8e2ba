// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection end to end: the nydus layout (a bootstrap bound through
 * the API from its metadata_path, its data blob named by its sha256 on an
 * HTTP server) with the data blob behind tests/servers/faulty in one mode
 * per case: dropped connections, stalls, 5xx, truncated, lying or corrupted
 * bodies. Every file is read through the mount: each must come back right
 * or fail, never with other bytes, and the daemon must stay up and go on
 * serving the other images meanwhile. A failed read is EIO; when the data
 * blob could not even be opened (the kernel's OPEN, at its first read), the
 * kernel fails the object and says ENOBUFS until the unmount.
 *
 * The same cases run on either front end (ktest_frontend()): cachefiles binds
 * the bootstrap through PUT /api/v2/blobs and mounts it by fsid; fanotify
 * mounts it through POST /api/v1/mount with the same configuration, and
 * opens its data blob at the mount, so a blob that cannot be opened fails
 * the mount there rather than the first read.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "holder.h"
#include "ktest.h"
#include "srv.h"

FIXTURE(faults) {
	const char *fe;		/* "cachefiles" or "fanotify" */
	struct srv srv;
	struct ktest_daemon d;
	char sock[PATH_MAX];
	char boot[80];		/* the chunked bootstrap's digest: its fsid */
	char boot_b[80];	/* chunked-b's, an image with another data blob */
	char mnt[PATH_MAX];
};

/* The bootstrap of the @want line of TEST_IMAGES/remote/list. */
static int find_bootstrap(const char *want, char *fsid, size_t len)
{
	char path[PATH_MAX], tree[32], id[80];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "%s/remote/list", ktest_images());
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%31s %79s", tree, id) == 2)
		if (!strcmp(tree, want)) {
			snprintf(fsid, len, "%s", id);
			ret = 0;
		}
	fclose(f);
	return ret;
}

FIXTURE_SETUP(faults)
{
	char dir[PATH_MAX], args[PATH_MAX + 16];
	const char *extra[] = { "--apisock", self->sock, "--frontend", NULL, NULL };
	int ret;

	KTEST_PICK_FRONTEND(self->fe);
	extra[3] = self->fe;
	if (find_bootstrap("chunked", self->boot, sizeof(self->boot)) ||
	    find_bootstrap("chunked-b", self->boot_b, sizeof(self->boot_b)))
		SKIP(return, "no chunked images (tools/erofs-set-tag not built)");
	snprintf(args, sizeof(args), "--root %s/remote", ktest_images());
	ret = srv_start(&self->srv, "faulty", args);
	if (ret == 77)
		SKIP(return, "python3 is not installed");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, ktest_mkdtemp("faults", dir, sizeof(dir)));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", dir);
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
}

FIXTURE_TEARDOWN(faults)
{
	int status;

	umount2(self->mnt, MNT_DETACH);
	if (self->d.pid) {
		status = ktest_daemon_stop(&self->d);
		if (status)
			ktest_daemon_dump_log(&self->d);
		EXPECT_EQ(0, status);
	}
	srv_stop(&self->srv);
}

struct fault_opts {
	unsigned int timeout;		/* s */
	unsigned int retry_limit;
	bool validate;
	bool prefetch;
};

static bool on_fanotify(FIXTURE_DATA(faults) *self)
{
	return !strcmp(self->fe, "fanotify");
}

/* The bootstrap of image @tree: "chunked" or "chunked-b". */
static const char *boot_of(FIXTURE_DATA(faults) *self, const char *tree)
{
	return strcmp(tree, "chunked") ? self->boot_b : self->boot;
}

/*
 * The image's configuration: its data blob served by the faulty server in
 * @mode, the id domain and mode, so that every case has its own manager and
 * backend (managers are shared by id).
 */
static void image_config(FIXTURE_DATA(faults) *self, const char *domain,
			 const char *mode, const struct fault_opts *o,
			 char *cfg, size_t len)
{
	snprintf(cfg, len,
		 "{\"version\": 2,"
		 " \"id\": \"%s-%s\", \"backend\": {\"type\": \"http\", \"http\": {"
		 "\"url\": \"%s/%s\", \"timeout\": %u, \"connect_timeout\": %u,"
		 " \"retry_limit\": %u, \"retry_delay_ms\": 50}},"
		 " \"cache\": {\"type\": \"fscache\", \"validate\": %s,"
		 " \"prefetch\": {\"enable\": %s}}}",
		 domain, mode, srv_env(&self->srv, "FAULTY_URL"), mode,
		 o->timeout, o->timeout, o->retry_limit,
		 o->validate ? "true" : "false", o->prefetch ? "true" : "false");
}

/*
 * Bind the image in domain @domain (cachefiles); fanotify binds nothing
 * before its mount.
 */
static int bind_image(FIXTURE_DATA(faults) *self, const char *tree,
		      const char *domain, const char *mode,
		      const struct fault_opts *o)
{
	char body[PATH_MAX * 3], cfg[PATH_MAX * 2];

	if (on_fanotify(self))
		return 0;
	image_config(self, domain, mode, o, cfg, sizeof(cfg));
	snprintf(body, sizeof(body),
		 "{\"type\": \"bootstrap\", \"id\": \"%s\", \"domain_id\": \"%s\","
		 " \"metadata_path\": \"%s/remote/%s\", \"config_v2\": %s}",
		 boot_of(self, tree), domain, ktest_images(),
		 boot_of(self, tree), cfg);
	return ktest_api(self->sock, "PUT", "/api/v2/blobs", body) == 204 ? 0 : -EIO;
}

static int unbind_image(FIXTURE_DATA(faults) *self, const char *tree,
			const char *domain)
{
	char path[256];

	if (on_fanotify(self))
		return 0;
	snprintf(path, sizeof(path), "/api/v2/blobs?domain_id=%s&blob_id=%s",
		 domain, boot_of(self, tree));
	return ktest_api(self->sock, "DELETE", path, NULL) == 204 ? 0 : -EIO;
}

/*
 * Mount the image of @domain at @mnt: by fsid (cachefiles), or through
 * POST /api/v1/mount with the configuration of @mode and @o (fanotify).
 */
static int mount_image(FIXTURE_DATA(faults) *self, const char *tree,
		       const char *domain, const char *mode,
		       const struct fault_opts *o, const char *mnt)
{
	char cfg[PATH_MAX * 2], src[PATH_MAX];

	if (!on_fanotify(self))
		return ktest_mount(boot_of(self, tree), domain, mnt);
	image_config(self, domain, mode, o, cfg, sizeof(cfg));
	snprintf(src, sizeof(src), "%s/remote/%s", ktest_images(),
		 boot_of(self, tree));
	return ktest_api_mount(self->sock, mnt, src, "rafs", cfg) == 204 ? 0 : -EIO;
}

static int umount_image(FIXTURE_DATA(faults) *self, const char *mnt)
{
	if (!on_fanotify(self))
		return ktest_umount(mnt);
	return ktest_api_umount(self->sock, mnt) == 204 ? 0 : -EIO;
}

/* What reading every file of the image gave. */
struct outcome {
	int mount_err;			/* 0: mounted */
	unsigned int right, eio, wrong, other;
	unsigned int enobufs;		/* counted in eio too */
	uint64_t slowest_eio_ms;	/* the longest read that failed */
};

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static struct {
	const char *src, *mnt;
	struct outcome *out;
} walk;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int classify_file(const char *src, const struct stat *st, int type,
			 struct FTW *ftw)
{
	unsigned char want[32], got[32];
	char path[PATH_MAX * 2];
	uint64_t t0;
	int ret;

	(void)st, (void)ftw;
	if (type != FTW_F)
		return 0;
	snprintf(path, sizeof(path), "%s%s", walk.mnt, src + strlen(walk.src));
	if (ktest_sha256_file(src, want))
		return -1;
	t0 = now_ms();
	ret = ktest_sha256_file(path, got);
	if (!ret && !memcmp(want, got, 32)) {
		walk.out->right++;
	} else if (!ret) {
		walk.out->wrong++;
		fprintf(stderr, "# %s: other bytes than its source\n", path);
	} else if (ret == -EIO || ret == -ENOBUFS) {
		walk.out->eio++;
		walk.out->enobufs += ret == -ENOBUFS;
		walk.out->slowest_eio_ms = MAX(walk.out->slowest_eio_ms,
					       now_ms() - t0);
	} else {
		walk.out->other++;
		fprintf(stderr, "# %s: %s\n", path, strerror(-ret));
	}
	return 0;
}

/* Mount the image of @domain at @mnt, read every file, unmount. */
static void read_image(FIXTURE_DATA(faults) *self, const char *tree,
		       const char *domain, const char *mode,
		       const struct fault_opts *o, const char *mnt,
		       struct outcome *out)
{
	char src[PATH_MAX];

	memset(out, 0, sizeof(*out));
	out->mount_err = mount_image(self, tree, domain, mode, o, mnt);
	if (out->mount_err)
		return;
	snprintf(src, sizeof(src), "%s/src/%s", ktest_images(), tree);
	walk.src = src;
	walk.mnt = mnt;
	walk.out = out;
	nftw(src, classify_file, 16, FTW_PHYS);
	umount_image(self, mnt);
}

static void log_outcome(const char *mode,
			const struct outcome *o)
{
	if (o->mount_err)
		TH_LOG("%-14s mount failed: %s", mode, strerror(-o->mount_err));
	else
		TH_LOG("%-16s %u right, %u failed (%u ENOBUFS; slowest %llu ms), %u wrong, %u other",
		       mode, o->right, o->eio, o->enobufs,
		       (unsigned long long)o->slowest_eio_ms, o->wrong, o->other);
}

enum expect { RIGHT, EIO_ONLY, RIGHT_OR_EIO };

struct fault_case {
	const char *mode;
	struct fault_opts opts;
	enum expect expect;
};

static void run_case(struct __test_metadata *_metadata,
		     FIXTURE_DATA(faults) *self, const struct fault_case *c,
		     unsigned int nr)
{
	char domain[32];
	struct outcome o;

	snprintf(domain, sizeof(domain), "case%u", nr);
	ASSERT_EQ(0, bind_image(self, "chunked", domain, c->mode, &c->opts));
	read_image(self, "chunked", domain, c->mode, &c->opts, self->mnt, &o);
	log_outcome(c->mode, &o);
	/* The kernel's contract: never other bytes, and no other error. */
	EXPECT_EQ(0, o.wrong);
	EXPECT_EQ(0, o.other);
	switch (c->expect) {
	case RIGHT:
		EXPECT_EQ(0, o.mount_err);
		EXPECT_EQ(0, o.eio);
		EXPECT_GT(o.right, 0);
		break;
	case EIO_ONLY:
		if (!o.mount_err) {
			EXPECT_EQ(0, o.right);
			EXPECT_GT(o.eio, 0);
		}
		break;
	case RIGHT_OR_EIO:
		break;
	}
	/*
	 * Within the configured time: every try may take the whole
	 * timeout, plus backoff (50 ms doubling) and the guest's slowness.
	 */
	EXPECT_LT(o.slowest_eio_ms,
		  (uint64_t)c->opts.timeout * 1000 * (c->opts.retry_limit + 1) *
		  2 + 5000);
	EXPECT_EQ(0, unbind_image(self, "chunked", domain));
	ASSERT_TRUE(ktest_daemon_alive(&self->d));
}

#define QUICK	{ .timeout = 2, .retry_limit = 4 }

/* Faults a retry gets past: every byte comes back right. */
TEST_F_TIMEOUT(faults, transient_faults_are_retried_and_every_byte_is_right, 300)
{
	static const struct fault_case cases[] = {
		{ "ok",		QUICK, RIGHT },
		{ "503x3",	QUICK, RIGHT },
		{ "429x2",	QUICK, RIGHT },
		{ "resetx3",	QUICK, RIGHT },
		{ "stallx1-6",	QUICK, RIGHT },
		{ "full200",	QUICK, RIGHT },
		/* Each try brings half of what is left: resumed, or EIO. */
		{ "truncate",	QUICK, RIGHT_OR_EIO },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(_metadata, self, &cases[i], i);
}

/* Faults that last: readers get EIO in bounded time, never other bytes. */
TEST_F_TIMEOUT(faults, lasting_faults_give_eio_never_other_bytes, 600)
{
	static const struct fault_case cases[] = {
		{ "503x1000000",	{ 2, 2, false, false }, EIO_ONLY },
		{ "resetx1000000",	{ 2, 2, false, false }, EIO_ONLY },
		{ "short",		{ 2, 1, false, false }, EIO_ONLY },
		{ "overlong",		{ 2, 1, false, false }, EIO_ONLY },
		{ "badrange",		{ 2, 1, false, false }, EIO_ONLY },
		{ "stallx1000000-60",	{ 2, 1, false, false }, EIO_ONLY },
		{ "404",		{ 2, 1, false, false }, EIO_ONLY },
		{ "403",		{ 2, 1, false, false }, EIO_ONLY },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(_metadata, self, &cases[i], 100 + i);
}

/*
 * A server that flips a byte inside consistent headers cannot be caught by
 * any length check: with cache.validate the data blob, named by its sha256,
 * is checked whole before a byte of it is served.
 */
TEST_F_TIMEOUT(faults, validate_turns_corrupted_bytes_into_eio, 300)
{
	static const struct fault_case corrupt = {
		"corrupt", { 5, 1, true, false }, EIO_ONLY
	};
	static const struct fault_case ok = { "ok", { 5, 1, true, false }, RIGHT };
	uint64_t mismatches = 0, verified = 0, before = 0;

	run_case(_metadata, self, &corrupt, 200);
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
			"factory.total.digest_mismatches", &mismatches));
	EXPECT_EQ(1, mismatches);
	/*
	 * The bootstrap came from its metadata_path, as the runtime gave it:
	 * its id is the runtime's name for the image, so it is not checked.
	 */
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.verified",
					  &before));
	EXPECT_EQ(0, before);
	/* The same blob from a good server: checked, then served. */
	run_case(_metadata, self, &ok, 201);
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.verified",
					  &verified));
	EXPECT_EQ(before + 1, verified);
	EXPECT_TRUE(ktest_daemon_log_contains(&self->d, ": discarded, readers get EIO"));
}

/* Poll the daemon's counter @name until it reaches @want (up to @ms). */
static int wait_counter(struct ktest_daemon *d, const char *name,
			uint64_t want, unsigned int ms, uint64_t *got)
{
	unsigned int waited;

	for (waited = 0; waited <= ms; waited += 200) {
		if (!ktest_daemon_counter(d, name, got) && *got >= want)
			return 0;
		usleep(200000);
	}
	return -ETIMEDOUT;
}

/*
 * Without cache.validate a corrupting server's bytes are served (nothing
 * can tell them apart), but once the whole blob is in its cache file and
 * released, its digest is checked: the bad file is culled and the next
 * mount, from a good server, fetches it again and reads right.
 */
TEST_F_TIMEOUT(faults, a_whole_lazy_blob_is_checked_after_release, 300)
{
	static const struct fault_opts lazy = {
		.timeout = 5, .retry_limit = 1, .prefetch = true
	};
	char path[PATH_MAX], src[PATH_MAX];
	uint64_t n = 0, culled = 0, checked = 0;
	struct ktest_tree_stats ts;
	struct stat st;

	if (on_fanotify(self))
		SKIP(return, "the recheck after release follows cachefiles' CLOSE: fanotify has no such message");
	snprintf(path, sizeof(path), "%s/blobs/chunked-data", ktest_images());
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, bind_image(self, "chunked", "lazy", "corrupt", &lazy));
	ASSERT_EQ(0, ktest_mount(self->boot, "lazy", self->mnt));
	/* The first read starts the prefetch of the whole blob. */
	snprintf(src, sizeof(src), "%s/small", self->mnt);
	ktest_sha256_file(src, (unsigned char[32]){ 0 });
	EXPECT_EQ(0, wait_counter(&self->d, "factory.total.prefetch_bytes",
				  st.st_size, 60000, &n));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	if (wait_counter(&self->d, "frontend.recheck_mismatches", 1, 30000, &n)) {
		/* Why: no CLOSE, no cache file in time, or a hole in it. */
		ktest_daemon_counter(&self->d, "frontend.recheck_missed", &n);
		TH_LOG("no mismatch counted; %llu rechecks missed their file",
		       (unsigned long long)n);
		ktest_daemon_dump_log(&self->d);
		EXPECT_TRUE(false);
	}
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.recheck_culled",
					  &culled));
	EXPECT_EQ(1, culled);
	ASSERT_EQ(0, unbind_image(self, "chunked", "lazy"));

	ASSERT_EQ(0, bind_image(self, "chunked", "lazy", "ok", &lazy));
	ASSERT_EQ(0, ktest_mount(self->boot, "lazy", self->mnt));
	EXPECT_EQ(0, ktest_compare_image("chunked", self->mnt, &ts));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.rechecked",
					  &checked));
	if (wait_counter(&self->d, "factory.total.prefetch_bytes",
			 2 * st.st_size, 60000, &n)) {
		TH_LOG("prefetched %llu of %llu bytes", (unsigned long long)n,
		       (unsigned long long)(2 * st.st_size));
		ktest_daemon_dump_log(&self->d);
		EXPECT_TRUE(false);
	}
	ASSERT_EQ(0, ktest_umount(self->mnt));
	/* The good file is checked too, and stays. */
	EXPECT_EQ(0, wait_counter(&self->d, "frontend.rechecked", checked + 1,
				  30000, &n));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.recheck_mismatches",
					  &n));
	EXPECT_EQ(1, n);
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

#define STALL_MODE	"stallx1000000-120"

struct stalled_mount {
	FIXTURE_DATA(faults) *self;
	const struct fault_opts *opts;
	char domain[32];
	char mnt[PATH_MAX];
	int mount_err;
	int read_err;
	bool done;		/* atomic */
	pthread_t thread;
};

static void *stalled_mount_main(void *arg)
{
	struct stalled_mount *s = arg;

	char path[PATH_MAX + 16], buf[4096];
	int fd;

	s->mount_err = mount_image(s->self, "chunked", s->domain, STALL_MODE,
				   s->opts, s->mnt);
	if (!s->mount_err) {
		/* The data blob's OPEN comes with its first read. */
		snprintf(path, sizeof(path), "%s/small", s->mnt);
		fd = open(path, O_RDONLY);
		s->read_err = fd < 0 || read(fd, buf, sizeof(buf)) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		umount_image(s->self, s->mnt);
	}
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

#define NR_STALLED	6

/*
 * What a read gets when its blob's OPEN failed. 6.12 hands the reader
 * fscache's ENOBUFS; 6.1's erofs_fscache_data_read() drops that error
 * and the unread folio becomes EIO (read in its source, and measured on
 * both). Which kernel between changed it is not known here, so either
 * is right there; both are errors, never data.
 */
static void expect_failed_open_errno(struct __test_metadata *_metadata,
				     int read_err)
{
	char release[128];

	if (ktest_kernel_before(6, 2, release, sizeof(release)))
		EXPECT_EQ(-EIO, read_err);
	else if (!ktest_kernel_before(6, 12, release, sizeof(release)) ||
		 read_err != -EIO)
		EXPECT_EQ(-ENOBUFS, read_err);
}

/*
 * Six readers whose data blob's server never answers hold more requests
 * than the daemon has workers (4): an image from a good server still
 * mounts and reads right while they all wait, and they fail in the end.
 * On fanotify they wait in their mounts instead (the data blob is opened
 * there), one after another, since they share one blob file; the good
 * image, with a data blob of its own, waits for none of them.
 */
TEST_F_TIMEOUT(faults, a_stalled_server_does_not_hold_up_other_images, 300)
{
	static const struct fault_opts stall = { .timeout = 30, .retry_limit = 0 };
	static const struct fault_opts good = QUICK;
	struct stalled_mount s[NR_STALLED];
	uint64_t standins = 0, t0;
	struct outcome o;
	unsigned int i, pending = 0;

	for (i = 0; i < NR_STALLED; i++) {
		s[i].self = self;
		s[i].opts = &stall;
		s[i].done = false;
		snprintf(s[i].domain, sizeof(s[i].domain), "stalled%u", i);
		ASSERT_EQ(0, bind_image(self, "chunked", s[i].domain, STALL_MODE,
					&stall));
		ASSERT_EQ(0, ktest_mkdtemp("mnt", s[i].mnt, sizeof(s[i].mnt)));
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL,
					    stalled_mount_main, &s[i]));
	}
	/* Every worker busy with a stalled OPEN, and more waiting. */
	sleep(2);
	ASSERT_EQ(0, bind_image(self, "chunked-b", "good", "ok", &good));
	t0 = now_ms();
	read_image(self, "chunked-b", "good", "ok", &good, self->mnt, &o);
	log_outcome("ok, meanwhile", &o);
	TH_LOG("the good image was mounted and read in %llu ms",
	       (unsigned long long)(now_ms() - t0));
	for (i = 0; i < NR_STALLED; i++)
		pending += !__atomic_load_n(&s[i].done, __ATOMIC_ACQUIRE);
	EXPECT_EQ(0, o.mount_err);
	EXPECT_GT(o.right, 0);
	EXPECT_EQ(0, o.eio + o.wrong + o.other);
	/* It was served while the stalled ones still waited. */
	EXPECT_EQ(NR_STALLED, pending);
	if (pending != NR_STALLED)
		ktest_daemon_dump_log(&self->d);
	for (i = 0; i < NR_STALLED; i++) {
		pthread_join(s[i].thread, NULL);
		/* fanotify opens the data blob at the mount, which fails. */
		if (on_fanotify(self)) {
			EXPECT_EQ(-EIO, s[i].mount_err);
			continue;
		}
		EXPECT_EQ(0, s[i].mount_err);
		expect_failed_open_errno(_metadata, s[i].read_err);
	}
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
	if (on_fanotify(self))
		return;
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
			"frontend.standins_started", &standins));
	TH_LOG("%u stalled readers failed after their 30 s timeout; %llu stand-in workers were started",
	       NR_STALLED, (unsigned long long)standins);
	EXPECT_GE(standins, 1);
}

TEST_HARNESS_MAIN
