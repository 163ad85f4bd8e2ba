// SPDX-License-Identifier: GPL-2.0
/*
 * The fanotify front end on a kernel with FAN_PRE_ACCESS (6.14+): the
 * daemon mounts file-backed EROFS through nydusd's /api/v1/mount, with
 * sparse blob files it fills on pre-content events. What is its own: mmap,
 * the mount API and helper, kill -9 under readers of nydus images, a
 * mount not taken over, culling and a full cache filesystem, bad set-ups.
 * The front-end-neutral suites (test_mount, test_nydus, test_restart,
 * test_space, ...) run on it too. Every byte of every image is compared, under concurrent
 * readers; bad data gives EIO, never zeros; an orderly stop unmounts.
 * Skips, saying why, where the kernel or the scratch filesystem cannot
 * carry pre-content marks (the 6.1 and 6.12 test kernels have none).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "holder.h"
#include "ktest.h"
#include "uapi/fanotify_hsm.h"

#define READERS	8

/* Why pre-content marks cannot be tried here, or NULL when they can. */
FIXTURE(fanotify) {
	struct ktest_daemon d;
	char cache[PATH_MAX];
	char sock[PATH_MAX + 16];
	char mnt[PATH_MAX];
	char dir[PATH_MAX];
};

FIXTURE_SETUP(fanotify)
{
	const char *extra[] = { "--frontend", "fanotify", "--apisock",
				self->sock, NULL };
	char blobs[PATH_MAX], why[256];

	memset(self, 0, sizeof(*self));
	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ktest_mkdtemp("fan-mnt", self->mnt, sizeof(self->mnt)));
	ASSERT_EQ(0, ktest_mkdtemp("fan-dir", self->dir, sizeof(self->dir)));
	ASSERT_EQ(0, ktest_mkdtemp("fan-cache", self->cache, sizeof(self->cache)));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", self->dir);
	snprintf(blobs, sizeof(blobs), "%s/blobs", ktest_images());
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, self->cache, blobs, extra));
}

FIXTURE_TEARDOWN(fanotify)
{
	int status;

	if (!self->d.pid)
		return;
	status = ktest_daemon_stop(&self->d);
	if (status)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, status);
	umount2(self->mnt, MNT_DETACH);
}

static uint64_t counter(FIXTURE_DATA(fanotify) *self, const char *path)
{
	uint64_t v = 0;

	if (ktest_daemon_counter(&self->d, path, &v))
		fprintf(stderr, "# no counter %s\n", path);
	return v;
}

/*
 * POST /api/v1/mount of @source on @mnt; @blobs: a localfs directory for
 * the image's own config (a JSON string, as nydusd takes it), or NULL for
 * the daemon's --blob-dir. Returns the HTTP status.
 */
static int api_mount(FIXTURE_DATA(fanotify) *self, const char *mnt,
		     const char *source, const char *blobs, bool validate)
{
	struct json_object *body = json_object_new_object();
	char url[PATH_MAX + 64], cfg[PATH_MAX * 2], id[PATH_MAX], *slash;
	int ret;

	json_object_object_add(body, "source", json_object_new_string(source));
	json_object_object_add(body, "fs_type",
			       json_object_new_string(blobs ? "rafs" : "erofs"));
	if (blobs) {
		/* A config id per backend directory: ids name configurations. */
		snprintf(id, sizeof(id), "%s", blobs);
		slash = strrchr(id, '/');
		if (slash && !strcmp(slash, "/blobs"))
			*slash = '\0';
		slash = strrchr(id, '/');
		snprintf(cfg, sizeof(cfg),
			 "{\"version\": 2, \"id\": \"cfg-%s\", \"backend\": {\"type\": \"localfs\","
			 " \"localfs\": {\"dir\": \"%s\"}}, \"cache\": {\"type\": \"fscache\","
			 " \"validate\": %s}}", slash ? slash + 1 : id, blobs,
			 validate ? "true" : "false");
		json_object_object_add(body, "config", json_object_new_string(cfg));
	}
	snprintf(url, sizeof(url), "/api/v1/mount?mountpoint=%s", mnt);
	ret = ktest_api(self->sock, "POST", url,
			json_object_to_json_string(body));
	json_object_put(body);
	return ret;
}

static int api_umount(FIXTURE_DATA(fanotify) *self, const char *mnt)
{
	char url[PATH_MAX + 64];

	snprintf(url, sizeof(url), "/api/v1/mount?mountpoint=%s", mnt);
	return ktest_api(self->sock, "DELETE", url, NULL);
}

static bool is_mounted(const char *mnt)
{
	char line[PATH_MAX * 2], needle[PATH_MAX + 2];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "r");

	if (!f)
		return false;
	snprintf(needle, sizeof(needle), " %s ", mnt);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle);
	fclose(f);
	return found;
}

/*
 * A whole EROFS image named by its blob id, from the backend: its own blob
 * file is the mount's only device. From 7.3 metadata reads raise events and
 * it fills as it is read; before, it is filled whole before the mount.
 */
TEST_F_TIMEOUT(fanotify, a_whole_erofs_image_by_blob_id, 600)
{
	char path[PATH_MAX], release[128], bin[PATH_MAX], cmd[PATH_MAX * 4];
	char out[4096];
	struct ktest_tree_stats st;
	uint64_t mounted, before;
	struct stat sb;
	bool lazy = !ktest_kernel_before(7, 3, release, sizeof(release));

	snprintf(path, sizeof(path), "%s/blobs/dom-a", ktest_images());
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(400, ktest_api_mount(self->sock, self->mnt, "dom-a", "rafs", NULL));
	ASSERT_EQ(204, ktest_api_mount(self->sock, self->mnt, "dom-a", "erofs", NULL));
	mounted = counter(self, "factory.total.backend_read_bytes");
	TH_LOG("kernel %s: %llu of %llu bytes fetched by the mount", release,
	       (unsigned long long)mounted, (unsigned long long)sb.st_size);
	if (lazy) {
		EXPECT_LT(mounted, (uint64_t)sb.st_size);
	} else {
		EXPECT_GE(mounted, (uint64_t)sb.st_size);
		EXPECT_TRUE(ktest_daemon_log_contains(&self->d, "filling the whole image"));
	}
	EXPECT_EQ(0, ktest_read_concurrently("dom-a", self->mnt, READERS));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	ASSERT_EQ(204, api_umount(self, self->mnt));
	/* Its blob file stays: a remount (by fscachectl) fetches nothing. */
	before = counter(self, "factory.total.backend_read_bytes");
	snprintf(bin, sizeof(bin), "%s", ktest_daemon_bin());
	*strrchr(bin, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "cd %s && %s/fscachectl --sock %s mount dom-a %s 2>&1",
		 self->dir, bin, self->sock, self->mnt);
	EXPECT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	EXPECT_EQ(before, counter(self, "factory.total.backend_read_bytes"));
	ASSERT_EQ(204, api_umount(self, self->mnt));
}

TEST_F_TIMEOUT(fanotify, plain_bootstrap_with_a_data_blob, 600)
{
	char boot[PATH_MAX], out[4096], cmd[PATH_MAX + 128], path[PATH_MAX + 32];
	struct ktest_tree_stats st;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (needs erofs-utils with --blobdev)");
	snprintf(boot, sizeof(boot), "%s/blobs/chunked", ktest_images());
	ASSERT_EQ(204, api_mount(self, self->mnt, boot, NULL, false));
	EXPECT_EQ(409, api_mount(self, self->mnt, boot, NULL, false));
	EXPECT_EQ(0, ktest_read_concurrently("chunked", self->mnt, READERS));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	/* GET lists it with its blob. */
	snprintf(cmd, sizeof(cmd), "curl -sf --unix-socket %s http://localhost/api/v1/mount",
		 self->sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "chunked-data"));
	EXPECT_GT(counter(self, "frontend.fills"), 0);
	EXPECT_GT(counter(self, "frontend.present"), 0);
	/* A mounted blob's file is not culled; an unmounted one is. */
	snprintf(path, sizeof(path), "%s/fanotify/chunked-data", self->cache);
	EXPECT_EQ(0, access(path, F_OK));
	EXPECT_EQ(409, ktest_api(self->sock, "DELETE", "/api/v2/blobs?blob_id=chunked-data", NULL));
	ASSERT_EQ(204, api_umount(self, self->mnt));
	EXPECT_FALSE(is_mounted(self->mnt));
	EXPECT_EQ(404, api_umount(self, self->mnt));
	EXPECT_EQ(204, ktest_api(self->sock, "DELETE", "/api/v2/blobs?blob_id=chunked-data", NULL));
	EXPECT_NE(0, access(path, F_OK));
}

/*
 * The daemon's mounts read ahead by a fetch unit (bdi.c): a read of a blob
 * file raises an event of up to 1 MiB, where the kernel's default 128 KiB
 * made 512 of them for this 64 MiB file (6.18).
 */
TEST_F_TIMEOUT(fanotify, a_sequential_read_asks_in_fetch_units, 300)
{
	unsigned char want[32], got[32];
	char boot[PATH_MAX], path[PATH_MAX];
	uint64_t events;

	snprintf(boot, sizeof(boot), "%s/blobs/main-boot", ktest_images());
	ASSERT_EQ(204, api_mount(self, self->mnt, boot, NULL, false));
	ASSERT_EQ(0, ktest_drop_caches());
	events = counter(self, "frontend.events");
	snprintf(path, sizeof(path), "%s/big/file-64m", self->mnt);
	ASSERT_EQ(0, ktest_sha256_file(path, got));
	events = counter(self, "frontend.events") - events;
	snprintf(path, sizeof(path), "%s/src/main/big/file-64m", ktest_images());
	ASSERT_EQ(0, ktest_sha256_file(path, want));
	EXPECT_EQ(0, memcmp(want, got, sizeof(want)));
	TH_LOG("%llu events for a 64 MiB file read in order",
	       (unsigned long long)events);
	EXPECT_LT(events, 160);
	ASSERT_EQ(204, api_umount(self, self->mnt));
}

/* mmap raises one event for the whole mapping: filled before the answer. */
TEST_F_TIMEOUT(fanotify, mmap_reads_the_right_bytes, 300)
{
	char boot[PATH_MAX], blobs[PATH_MAX], path[PATH_MAX + 32], src[PATH_MAX + 32];
	unsigned char *a, *b;
	struct stat st;
	int fd, sfd;

	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	snprintf(blobs, sizeof(blobs), "%s/nydus/zstd/blobs", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images");
	ASSERT_EQ(204, api_mount(self, self->mnt, boot, blobs, false));
	snprintf(path, sizeof(path), "%s/big/random-6m", self->mnt);
	snprintf(src, sizeof(src), "%s/src/nydus/big/random-6m", ktest_images());
	fd = open(path, O_RDONLY);
	sfd = open(src, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_GE(sfd, 0);
	ASSERT_EQ(0, fstat(sfd, &st));
	a = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	b = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, sfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(0, memcmp(a, b, st.st_size));
	munmap(a, st.st_size);
	munmap(b, st.st_size);
	close(fd);
	close(sfd);
	ASSERT_EQ(204, api_umount(self, self->mnt));
}

/*
 * A blob with a byte of chunk data flipped, validated: readers of what the
 * chunk holds get EIO, never other bytes or zeros; the rest reads right
 * and the daemon stays up.
 */
TEST_F_TIMEOUT(fanotify, a_corrupt_chunk_gives_eio, 300)
{
	char cmd[PATH_MAX * 4], bad[PATH_MAX], boot[PATH_MAX];
	char path[PATH_MAX + 64];
	const char *img = ktest_images();
	unsigned long eio = 0, other = 0, whole = 0;
	int i, ret;

	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", img);
	if (access(boot, F_OK))
		SKIP(return, "no nydus images");
	snprintf(bad, sizeof(bad), "%s/flip", self->dir);
	snprintf(cmd, sizeof(cmd),
		 "set -e; mkdir -p %s; cp %s/nydus/zstd/blobs/* %s/;"
		 " for f in %s/*; do printf '\\132' | dd of=$f bs=1 seek=3000 conv=notrunc status=none; done",
		 bad, img, bad, bad);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(204, api_mount(self, self->mnt, boot, bad, true));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/big/%s", self->mnt,
			 i ? "random-6m-copy" : "random-6m");
		ret = ktest_read_all(path);
		if (ret == -EIO)
			eio++;
		else if (ret)
			other++;
		else
			whole++;
	}
	TH_LOG("flipped chunk: %lu of 2 reads got EIO, %lu another error, %lu read whole; fill_errors %llu",
	       eio, other, whole, (unsigned long long)counter(self, "frontend.fill_errors"));
	EXPECT_GT(eio, 0);
	EXPECT_EQ(0, other);
	EXPECT_GT(counter(self, "factory.total.digest_mismatches"), 0);
	EXPECT_GT(counter(self, "frontend.fill_errors"), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s/src/nydus/small/f100 %s/small/f100",
		 img, self->mnt);
	EXPECT_EQ(0, system(cmd));
	ASSERT_EQ(204, api_umount(self, self->mnt));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

/* Bad requests get a clear answer and change nothing. */
TEST_F_TIMEOUT(fanotify, bad_mount_requests, 300)
{
	char url[PATH_MAX + 64], boot[PATH_MAX];

	snprintf(boot, sizeof(boot), "%s/blobs/chunked", ktest_images());
	EXPECT_EQ(404, api_mount(self, "/nonexistent/mountpoint", boot, NULL, false));
	EXPECT_EQ(404, api_mount(self, self->mnt, "/nonexistent/bootstrap", NULL, false));
	EXPECT_EQ(400, ktest_api(self->sock, "POST", "/api/v1/mount", "{\"source\": \"x\"}"));
	snprintf(url, sizeof(url), "/api/v1/mount?mountpoint=%s", self->mnt);
	EXPECT_EQ(400, ktest_api(self->sock, "POST", url, "{\"source\": 5}"));
	EXPECT_EQ(400, ktest_api(self->sock, "POST", url, "not json"));
	EXPECT_EQ(400, ktest_api(self->sock, "POST", url,
				 "{\"source\": \"/etc/hostname\", \"config\": \"{bad\"}"));
	EXPECT_FALSE(is_mounted(self->mnt));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

/* The interface fails open when the group dies: an orderly stop unmounts first. */
TEST_F_TIMEOUT(fanotify, an_orderly_stop_unmounts_first, 300)
{
	char boot[PATH_MAX];

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image");
	snprintf(boot, sizeof(boot), "%s/blobs/chunked", ktest_images());
	ASSERT_EQ(204, api_mount(self, self->mnt, boot, NULL, false));
	ASSERT_TRUE(is_mounted(self->mnt));
	EXPECT_EQ(0, ktest_daemon_stop(&self->d));
	self->d.pid = 0;
	EXPECT_FALSE(is_mounted(self->mnt));
}

/* fscachectl's mount, mounts and umount, and mount(8)'s helper mount.fscached. */
TEST_F_TIMEOUT(fanotify, fscachectl_and_the_mount_helper, 300)
{
	char bin[PATH_MAX], cfg[PATH_MAX + 16], boot[PATH_MAX], cmd[PATH_MAX * 6];
	char out[4096];
	struct ktest_tree_stats st;
	FILE *f;

	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images");
	snprintf(bin, sizeof(bin), "%s", ktest_daemon_bin());
	*strrchr(bin, '/') = '\0';
	snprintf(cfg, sizeof(cfg), "%s/zstd.json", self->dir);
	f = fopen(cfg, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "{\"version\": 2, \"id\": \"zstd\", \"backend\": {\"type\": \"localfs\","
		" \"localfs\": {\"dir\": \"%s/nydus/zstd/blobs\"}}, \"cache\": {\"type\": \"fscache\"}}\n",
		ktest_images());
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/fscachectl --sock %s mount %s %s --config %s",
		 bin, self->sock, boot, self->mnt, cfg);
	ASSERT_EQ(0, system(cmd));
	ASSERT_TRUE(is_mounted(self->mnt));
	snprintf(cmd, sizeof(cmd), "%s/fscachectl --sock %s mounts", bin, self->sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, self->mnt));
	EXPECT_NE(NULL, strstr(out, "rafs"));
	snprintf(cmd, sizeof(cmd), "%s/fscachectl --sock %s umount %s", bin, self->sock, self->mnt);
	ASSERT_EQ(0, system(cmd));
	EXPECT_FALSE(is_mounted(self->mnt));
	/* As mount(8) calls it for "mount -t fscached BOOT DIR -o ...". */
	snprintf(cmd, sizeof(cmd), "%s/mount.fscached %s %s -o ro,nofail,config=%s,apisock=%s",
		 bin, boot, self->mnt, cfg, self->sock);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	snprintf(cmd, sizeof(cmd), "%s/fscachectl --sock %s umount %s", bin, self->sock, self->mnt);
	ASSERT_EQ(0, system(cmd));
	/* A failed mount gives mount(8)'s "mount failure" code, 32. */
	snprintf(cmd, sizeof(cmd), "%s/mount.fscached /nonexistent %s -o apisock=%s 2>/dev/null",
		 bin, self->mnt, self->sock);
	EXPECT_EQ(32, WEXITSTATUS(system(cmd)));
}

/*
 * kill -9 twenty times while four readers go through a nydus image, each
 * time a new daemon taking the group over from the fd store (as systemd
 * keeps it). No reader may see a wrong byte or a zero where data belongs;
 * what they saw instead (EIO, and the retries after it) is counted.
 */
#define KILLS		20
#define KREADERS	4
#define KMOUNTS		(2 * KREADERS)

struct kreader {
	struct ktest_read_counts c;
	int done, status;
	bool eio_ok;		/* EIO is an answer: counted, not retried */
};

static void kreader_main(const char *src, const char *mnt, const char *mnt2,
			 unsigned int seed, struct kreader *r)
{
	const char *m[2] = { mnt, mnt2 };
	int ret = 0, i;

	for (i = 0; i < 2 && m[i] && !ret; i++)
		ret = ktest_read_tree_shuffled(src, m[i], seed + i,
					       r->eio_ok ? KTEST_EIO_ANSWERS :
							   KTEST_EIO_RETRIED,
					       NULL, &r->c);
	r->status = ret;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	_exit(ret);
}

/*
 * test_restart kills under readers of plain images, with either holder;
 * here the readers go through eight nydus images, whose chunks are
 * decoded, with the fd store for the holder.
 */
TEST_F_TIMEOUT(fanotify, kill9_twenty_times_under_readers_of_nydus_images, 900)
{
	static const char *const variants[KMOUNTS] = {
		"zstd", "lz4", "gzip", "batch", "none", "separate", "zran", "prefetch"
	};
	const char *extra[] = { "--frontend", "fanotify", "--apisock", self->sock,
				"--readahead-kb", "0", "--fetch-unit-kb", "4", NULL };
	char boot[KMOUNTS][PATH_MAX], blobs[KMOUNTS][PATH_MAX], src[PATH_MAX];
	char mnt[KMOUNTS][PATH_MAX];
	struct ktest_spawn how = { .listen_fd = -1 };
	struct ktest_fdstore store = { .fd = -1 };
	struct ktest_tree_stats st;
	unsigned int seed = 7, kills, busy = 0, waited, still;
	uint64_t last = 0;
	uint64_t blocks = 0, eio = 0, retries = 0, wrong = 0, before, after;
	pid_t pids[KREADERS];
	struct kreader *r;
	int i, failed = 0, status;

	for (i = 0; i < KMOUNTS; i++) {
		snprintf(boot[i], PATH_MAX, "%s/nydus/%s/image.boot", ktest_images(), variants[i]);
		snprintf(blobs[i], PATH_MAX, "%s/nydus/%s/blobs", ktest_images(), variants[i]);
		if (i)
			ASSERT_EQ(0, ktest_mkdtemp("fan-mnt", mnt[i], PATH_MAX));
		else
			snprintf(mnt[i], PATH_MAX, "%s", self->mnt);
	}
	snprintf(src, sizeof(src), "%s/src/nydus", ktest_images());
	if (access(boot[0], F_OK))
		SKIP(return, "no nydus images");
	/* The fixture's daemon has no holder: this test's own replaces it. */
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_fdstore_open(&store, self->dir));
	how.notify_socket = store.path;
	ASSERT_EQ(0, ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how));
	ASSERT_EQ(0, ktest_daemon_wait_ready(&self->d));
	ASSERT_EQ(0, ktest_fdstore_wait_fd(&store, 10000));
	/* Two images per reader: eight blob files, all taken over each time. */
	for (i = 0; i < KMOUNTS; i++)
		ASSERT_EQ(204, api_mount(self, mnt[i], boot[i], blobs[i], false));
	r = mmap(NULL, KREADERS * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, KREADERS * sizeof(*r));
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < KREADERS; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (!pids[i])
			kreader_main(src, mnt[i], mnt[i + KREADERS], 1000 + i, &r[i]);
	}
	for (kills = 0; kills < KILLS; kills++) {
		usleep((10 + rand_r(&seed) % 50) * 1000);
		for (i = 0; i < KREADERS; i++)
			if (!__atomic_load_n(&r[i].done, __ATOMIC_ACQUIRE)) {
				busy++;
				break;
			}
		ASSERT_EQ(0, kill(self->d.pid, SIGKILL));
		ASSERT_EQ(128 + SIGKILL, ktest_daemon_wait(&self->d, 10000));
		how.listen_fd = store.fd;
		ASSERT_EQ(0, ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how));
		if (ktest_daemon_wait_ready(&self->d)) {
			ktest_daemon_dump_log(&self->d);
			ASSERT_TRUE(false);
		}
		ASSERT_EQ(0, ktest_fdstore_wait_fd(&store, 10000));
	}
	/* The readers end, as long as they get on: a minute without a block is a hang. */
	for (waited = 0, still = 0; still < 60000; waited += 100) {
		uint64_t now = 0;

		for (i = 0; i < KREADERS; i++)
			now += __atomic_load_n(&r[i].c.blocks, __ATOMIC_RELAXED);
		still = now == last ? still + 100 : 0;
		last = now;
		for (i = 0; i < KREADERS; i++)
			if (!__atomic_load_n(&r[i].done, __ATOMIC_ACQUIRE))
				break;
		if (i == KREADERS)
			break;
		usleep(100000);
	}
	if (still >= 60000)
		fprintf(stderr, "# no reader read a block for 60 s, %u s after the last kill\n",
			waited / 1000);
	for (i = 0; i < KREADERS; i++) {
		if (waitpid(pids[i], &status, WNOHANG) != pids[i]) {
			fprintf(stderr, "# reader %d did not end\n", i);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			failed++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			failed++;
		}
		blocks += r[i].c.blocks;
		eio += r[i].c.eio;
		retries += r[i].c.retries;
		wrong += r[i].c.wrong;
	}
	TH_LOG("%u kills (%u while readers read): %llu blocks read, %llu wrong, %llu EIO (%llu retries), %d of %d readers failed; replayed %llu, denied %llu",
	       kills, busy, (unsigned long long)blocks, (unsigned long long)wrong,
	       (unsigned long long)eio, (unsigned long long)retries, failed, KREADERS,
	       (unsigned long long)counter(self, "frontend.replayed"),
	       (unsigned long long)counter(self, "frontend.replay_denied"));
	munmap(r, KREADERS * sizeof(*r));
	if (wrong || failed)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(KILLS, busy);
	/* The last daemon serves the mounts it took over: a remount is free. */
	before = counter(self, "factory.total.backend_read_bytes");
	for (i = 0; i < KMOUNTS; i++) {
		ASSERT_EQ(204, api_umount(self, mnt[i]));
		ASSERT_EQ(204, api_mount(self, mnt[i], boot[i], blobs[i], false));
		ASSERT_EQ(0, ktest_compare_image("nydus", mnt[i], &st));
		ASSERT_EQ(204, api_umount(self, mnt[i]));
	}
	after = counter(self, "factory.total.backend_read_bytes");
	EXPECT_EQ(before, after);
	EXPECT_EQ(0, ktest_daemon_stop(&self->d));
	self->d.pid = 0;
	ktest_fdstore_close(&store);
}

/*
 * A mount the new daemon cannot serve again (its bootstrap is gone) stays
 * mounted with its blob file still marked in the group it took over: an
 * event on a file it does not know is answered EIO, never allowed.
 */
TEST_F_TIMEOUT(fanotify, a_mount_not_taken_over_reads_eio, 300)
{
	const char *extra[] = { "--frontend", "fanotify", "--apisock", self->sock,
				"--readahead-kb", "0", NULL };
	char boot[PATH_MAX], copy[PATH_MAX], blobs[PATH_MAX], path[PATH_MAX * 2];
	struct ktest_spawn how = { .listen_fd = -1 };
	struct ktest_fdstore store = { .fd = -1 };
	char buf[4096];
	ssize_t n;
	int fd;

	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	snprintf(blobs, sizeof(blobs), "%s/nydus/zstd/blobs", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images");
	snprintf(copy, sizeof(copy), "%s/image.boot", self->dir);
	snprintf(path, sizeof(path), "cp %s %s", boot, copy);
	ASSERT_EQ(0, system(path));
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_fdstore_open(&store, self->dir));
	how.notify_socket = store.path;
	ASSERT_EQ(0, ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how));
	ASSERT_EQ(0, ktest_daemon_wait_ready(&self->d));
	ASSERT_EQ(0, ktest_fdstore_wait_fd(&store, 10000));
	ASSERT_EQ(204, api_mount(self, self->mnt, copy, blobs, false));

	ASSERT_EQ(0, kill(self->d.pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, ktest_daemon_wait(&self->d, 10000));
	ASSERT_EQ(0, unlink(copy));
	how.listen_fd = store.fd;
	ASSERT_EQ(0, ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how));
	ASSERT_EQ(0, ktest_daemon_wait_ready(&self->d));
	EXPECT_TRUE(ktest_daemon_log_contains(&self->d, "again"));

	snprintf(path, sizeof(path), "%s/big/random-6m", self->mnt);
	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	n = pread(fd, buf, sizeof(buf), 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EIO, errno);
	close(fd);
	EXPECT_GE(counter(self, "frontend.unknown_files"), 1);
	umount2(self->mnt, MNT_DETACH);
	EXPECT_EQ(0, ktest_daemon_stop(&self->d));
	self->d.pid = 0;
	ktest_fdstore_close(&store);
}

/*
 * A cache filesystem with no room left: readers of a plain image and of a
 * nydus image get EIO for what cannot be stored, and never zeros. ext4
 * leaves the blocks of a write() that failed for space reading as zeros,
 * and SEEK_HOLE counts them as data. Once there is room again, every byte
 * is right: no failed write is taken for data.
 */
#define FULL_READERS	4

static void read_under_full_cache(struct __test_metadata *_metadata,
				  FIXTURE_DATA(fanotify) *f, const char *tree,
				  const char *mnt, struct kreader *total)
{
	char src[PATH_MAX], at[PATH_MAX * 2];
	pid_t pids[FULL_READERS];
	struct kreader *r;
	int i, status;

	snprintf(src, sizeof(src), "%s/src/%s", ktest_images(), tree);
	snprintf(at, sizeof(at), "%s%s", mnt, strchr(tree, '/') ? strchr(tree, '/') : "");
	r = mmap(NULL, FULL_READERS * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, FULL_READERS * sizeof(*r));
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < FULL_READERS; i++) {
		r[i].eio_ok = true;
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (!pids[i])
			kreader_main(src, at, NULL, 2000 + i, &r[i]);
	}
	for (i = 0; i < FULL_READERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, r[i].status);
		total->c.blocks += r[i].c.blocks;
		total->c.eio += r[i].c.eio;
		total->c.wrong += r[i].c.wrong;
	}
	munmap(r, FULL_READERS * sizeof(*r));
	EXPECT_TRUE(ktest_daemon_alive(&f->d));
}

/*
 * An ext4 filesystem of @mib MiB on a loop device at DIR/fs, with a daemon
 * on the fanotify front end whose cache is DIR/fs/cache.
 */
static int small_cache_daemon(FIXTURE_DATA(fanotify) *f, const char *dir,
			      unsigned int mib, const char *blob_dir,
			      const char **extra)
{
	char cmd[PATH_MAX * 4], cache[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd),
		 "truncate -s %uM %s/fs.img && mkfs.ext4 -q -F %s/fs.img && mkdir %s/fs && mount -o loop %s/fs.img %s/fs",
		 mib, dir, dir, dir, dir, dir);
	if (system(cmd))
		return -1;
	snprintf(cache, sizeof(cache), "%s/fs/cache", dir);
	memset(f, 0, sizeof(*f));
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", dir);
	extra[3] = f->sock;
	return ktest_daemon_start_in(&f->d, cache, blob_dir, extra);
}

TEST_TIMEOUT(fanotify_a_full_cache_filesystem_gives_eio_never_zeros, 600)
{
	char dir[PATH_MAX], why[256], cmd[PATH_MAX * 4];
	char plain_mnt[PATH_MAX], nydus_mnt[PATH_MAX], boot[PATH_MAX];
	char blobs[PATH_MAX], nydus_boot[PATH_MAX], fs[PATH_MAX + 8];
	const char *extra[] = { "--frontend", "fanotify", "--apisock", NULL, NULL };
	struct kreader total = { 0 };
	struct ktest_tree_stats st;
	FIXTURE_DATA(fanotify) f;
	struct statvfs sv;
	uint64_t spare;

	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (needs erofs-utils with --blobdev)");
	snprintf(nydus_boot, sizeof(nydus_boot), "%s/nydus/zstd/image.boot", ktest_images());
	if (access(nydus_boot, F_OK))
		SKIP(return, "no nydus images");
	ASSERT_EQ(0, ktest_mkdtemp("fan-full", dir, sizeof(dir)));
	snprintf(fs, sizeof(fs), "%s/fs", dir);
	snprintf(blobs, sizeof(blobs), "%s/blobs", ktest_images());
	ASSERT_EQ(0, small_cache_daemon(&f, dir, 64, blobs, extra));
	ASSERT_EQ(0, ktest_mkdtemp("fan-mnt", plain_mnt, sizeof(plain_mnt)));
	ASSERT_EQ(0, ktest_mkdtemp("fan-mnt", nydus_mnt, sizeof(nydus_mnt)));
	snprintf(boot, sizeof(boot), "%s/blobs/chunked", ktest_images());
	ASSERT_EQ(204, api_mount(&f, plain_mnt, boot, NULL, false));
	snprintf(blobs, sizeof(blobs), "%s/nydus/zstd/blobs", ktest_images());
	ASSERT_EQ(204, api_mount(&f, nydus_mnt, nydus_boot, blobs, false));
	/* All but 2 MiB taken: the two blob files need 5 MiB and more. */
	ASSERT_EQ(0, statvfs(fs, &sv));
	spare = (uint64_t)sv.f_bavail * sv.f_frsize;
	ASSERT_GT(spare, 4ULL << 20);
	snprintf(cmd, sizeof(cmd), "fallocate -l %llu %s/filler",
		 (unsigned long long)(spare - (2ULL << 20) - (300 << 10)), fs);
	ASSERT_EQ(0, system(cmd));
	read_under_full_cache(_metadata, &f, "chunked", plain_mnt, &total);
	read_under_full_cache(_metadata, &f, "nydus/small", nydus_mnt, &total);
	TH_LOG("%llu blocks read with 2 MiB free: %llu EIO, %llu wrong",
	       (unsigned long long)total.c.blocks, (unsigned long long)total.c.eio,
	       (unsigned long long)total.c.wrong);
	EXPECT_EQ(0, total.c.wrong);
	/* Else the filesystem was never full, and this proved nothing. */
	EXPECT_GT(total.c.eio, 0);
	/* Room again: what failed is fetched again, and every byte is right. */
	snprintf(cmd, sizeof(cmd), "rm %s/filler && echo 3 > /proc/sys/vm/drop_caches", fs);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(0, ktest_compare_image("chunked", plain_mnt, &st));
	EXPECT_EQ(0, ktest_compare_image("nydus", nydus_mnt, &st));
	EXPECT_EQ(204, api_umount(&f, plain_mnt));
	EXPECT_EQ(204, api_umount(&f, nydus_mnt));
	EXPECT_EQ(0, ktest_daemon_stop(&f.d));
	snprintf(cmd, sizeof(cmd), "umount %s", fs);
	EXPECT_EQ(0, system(cmd));
}

/*
 * A small cache filesystem and more images than fit: unmounted blob files
 * are culled, least recently read first, and a mounted one never is.
 */
TEST_TIMEOUT(fanotify_culling_keeps_room_and_spares_mounted_blobs, 600)
{
	static const char *const variants[] = { "lz4", "gzip", "batch", "none", "separate" };
	char dir[PATH_MAX], why[256], cmd[PATH_MAX * 3], cache[PATH_MAX + 16];
	char keep[PATH_MAX], mnt[PATH_MAX], boot[PATH_MAX];
	char blobs[PATH_MAX], kept[PATH_MAX + 128];
	const char *extra[] = { "--frontend", "fanotify", "--apisock", NULL,
				"--cache-limits", "brun=50%,bcull=40%,bstop=5%", NULL };
	struct ktest_tree_stats st;
	FIXTURE_DATA(fanotify) f;
	uint64_t culled = 0;
	unsigned int i;

	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images");
	ASSERT_EQ(0, ktest_mkdtemp("fan-small", dir, sizeof(dir)));
	/* 96 MiB: the six images' blob files need about 130 MiB. */
	ASSERT_EQ(0, small_cache_daemon(&f, dir, 96, NULL, extra));
	snprintf(cache, sizeof(cache), "%s/fs/cache", dir);
	/* One image stays mounted throughout: its blob file must stay. */
	ASSERT_EQ(0, ktest_mkdtemp("fan-keep", keep, sizeof(keep)));
	snprintf(blobs, sizeof(blobs), "%s/nydus/zstd/blobs", ktest_images());
	ASSERT_EQ(204, api_mount(&f, keep, boot, blobs, false));
	ASSERT_EQ(0, ktest_compare_image("nydus", keep, &st));
	ASSERT_EQ(0, ktest_mkdtemp("fan-mnt", mnt, sizeof(mnt)));
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		snprintf(boot, sizeof(boot), "%s/nydus/%s/image.boot", ktest_images(), variants[i]);
		snprintf(blobs, sizeof(blobs), "%s/nydus/%s/blobs", ktest_images(), variants[i]);
		ASSERT_EQ(204, api_mount(&f, mnt, boot, blobs, false));
		EXPECT_EQ(0, ktest_read_concurrently("nydus", mnt, READERS));
		EXPECT_EQ(0, ktest_compare_image("nydus", mnt, &st));
		ASSERT_EQ(204, api_umount(&f, mnt));
	}
	EXPECT_EQ(0, ktest_daemon_counter(&f.d, "frontend.culled", &culled));
	TH_LOG("%llu blob files culled on a 96 MiB filesystem", (unsigned long long)culled);
	EXPECT_GT(culled, 0);
	EXPECT_EQ(0, ktest_compare_image("nydus", keep, &st));
	/* The mounted image's blob file (zstd's only blob) is still there. */
	snprintf(kept, sizeof(kept), "test -f %s/fanotify/$(ls %s/nydus/zstd/blobs)",
		 cache, ktest_images());
	EXPECT_EQ(0, system(kept));
	EXPECT_EQ(204, api_umount(&f, keep));
	EXPECT_EQ(0, ktest_daemon_stop(&f.d));
	snprintf(cmd, sizeof(cmd), "umount %s/fs", dir);
	EXPECT_EQ(0, system(cmd));
}

/* Outside the fixture: where blob files cannot be marked, a clear error. */
TEST_TIMEOUT(fanotify_cache_on_tmpfs_is_refused, 120)
{
	char dir[PATH_MAX], why[256];
	const char *extra[] = { "--frontend", "fanotify", NULL };
	struct ktest_daemon d;
	int ret;

	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ktest_mkdtemp("fan-tmpfs", dir, sizeof(dir)));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=16m"));
	memset(&d, 0, sizeof(d));
	ret = ktest_daemon_start_in(&d, dir, ktest_scratch(), extra);
	EXPECT_NE(0, ret);
	EXPECT_NE(0, ktest_daemon_wait(&d, 10000));
	EXPECT_TRUE(ktest_daemon_log_contains(&d, "marks work only on ext4, xfs and btrfs"));
	umount2(dir, MNT_DETACH);
}

/* Without CAP_SYS_ADMIN (root with it dropped from the bounding set): a clear error. */
TEST_TIMEOUT(fanotify_without_cap_sys_admin_is_refused, 120)
{
	char cache[PATH_MAX], why[256], cmd[PATH_MAX * 3], out[8192];
	int status;

	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	if (system("command -v setpriv > /dev/null"))
		SKIP(return, "no setpriv (util-linux) to drop CAP_SYS_ADMIN");
	ASSERT_EQ(0, ktest_mkdtemp("fan-nocap", cache, sizeof(cache)));
	snprintf(cmd, sizeof(cmd),
		 "timeout 60 setpriv --bounding-set=-sys_admin %s --frontend fanotify --fscache %s --blob-dir %s/blobs 2>&1",
		 ktest_daemon_bin(), cache, ktest_images());
	status = ktest_run_capture(cmd, out, sizeof(out));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		    WEXITSTATUS(status) != 124);
	EXPECT_NE(NULL, strstr(out, "the fanotify front end needs root (CAP_SYS_ADMIN)"));
	if (!strstr(out, "CAP_SYS_ADMIN"))
		TH_LOG("the daemon said: %s", out);
}

/*
 * --frontend auto (the default) takes fanotify where there is no
 * /dev/cachefiles, and falls back to it where cachefiles has no on-demand
 * mode (Debian's stock kernels: the device is there, binding fails).
 */
TEST_TIMEOUT(fanotify_is_chosen_without_cachefiles_on_demand, 120)
{
	char cache[PATH_MAX], why[256], blobs[PATH_MAX];
	struct ktest_daemon d;
	bool has_dev = !access("/dev/cachefiles", F_OK);

	if (ktest_fanotify_unusable(why, sizeof(why)))
		SKIP(return, "%s", why);
	if (!ktest_cachefiles_unusable(why, sizeof(why)))
		SKIP(return, "this kernel has cachefiles on-demand mode: auto takes cachefiles");
	ASSERT_EQ(0, ktest_mkdtemp("fan-auto", cache, sizeof(cache)));
	snprintf(blobs, sizeof(blobs), "%s/blobs", ktest_images());
	memset(&d, 0, sizeof(d));
	ASSERT_EQ(0, ktest_daemon_start_in(&d, cache, blobs, NULL));
	if (has_dev)
		EXPECT_TRUE(ktest_daemon_log_contains(&d, "cachefiles has no on-demand mode here"));
	else
		EXPECT_TRUE(ktest_daemon_log_contains(&d, "front end fanotify: the kernel has no /dev/cachefiles"));
	EXPECT_EQ(0, ktest_daemon_stop(&d));
}

TEST_HARNESS_MAIN
