// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end: real fscached and real EROFS mounts in the test kernel, every
 * file compared with its source. Each case runs on the front end
 * ktest_frontend() picks: cachefiles mounts EROFS over fscache by fsid,
 * fanotify mounts file-backed EROFS through /api/v1/mount. The last two
 * cases are cachefiles' own (test_fanotify has fanotify's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "ktest.h"

/* Macros, so that their skips return from the test itself. */
#define REQUIRE_CACHEFILES()						\
	do {								\
		KTEST_SKIP_UNLESS_CACHEFILES();				\
		if (geteuid())						\
			SKIP(return, "needs root");			\
	} while (0)
#define REQUIRE_FRONTEND()						\
	do {								\
		const char *_fe;					\
									\
		KTEST_PICK_FRONTEND(_fe);				\
		(void)_fe;						\
		if (geteuid())						\
			SKIP(return, "needs root");			\
	} while (0)

static void path_of(char *out, size_t len, const char *a, const char *b)
{
	snprintf(out, len, "%s/%s", a, b);
}

FIXTURE(served) {
	struct ktest_daemon d;
	char blobs[PATH_MAX];
	char mnt[PATH_MAX];
	char mnt2[PATH_MAX];
	int mounted;
};

FIXTURE_SETUP(served)
{
	int ret;

	memset(self, 0, sizeof(*self));
	REQUIRE_FRONTEND();
	path_of(self->blobs, sizeof(self->blobs), ktest_images(), "blobs");
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt2, sizeof(self->mnt2)));
	ret = ktest_daemon_start(&self->d, self->blobs, NULL);
	if (ret)
		ktest_daemon_dump_log(&self->d);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(served)
{
	int status;

	umount2(self->mnt, MNT_DETACH);
	umount2(self->mnt2, MNT_DETACH);
	if (!self->d.pid)
		return;
	status = ktest_daemon_stop(&self->d);
	if (status)
		ktest_daemon_dump_log(&self->d);
	/* A clean SIGTERM shutdown exits 0. */
	EXPECT_EQ(0, status);
}

TEST_F_TIMEOUT(served, uncompressed_image_by_fsid, 300)
{
	struct ktest_tree_stats st;

	ASSERT_EQ(0, ktest_mount_on(&self->d, "plain", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	EXPECT_GE(st.files, 2100);
	EXPECT_GE(st.bytes, 64ULL << 20);
	EXPECT_GE(st.hardlinks, 3);
	EXPECT_GE(st.symlinks, 4);
	EXPECT_GE(st.xattrs, 4);
}

TEST_F_TIMEOUT(served, lz4hc_image_by_fsid, 300)
{
	struct ktest_tree_stats st;

	uint64_t readaheads;

	KTEST_SKIP_UNLESS_COMPRESSED();
	ASSERT_EQ(0, ktest_mount_on(&self->d, "lz4hc", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	EXPECT_GE(st.files, 2100);
	/*
	 * No window is written ahead into a compressed image's cache file:
	 * the kernel would wedge its unmount (the teardown unmounts it).
	 */
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "readaheads",
					  &readaheads));
	EXPECT_EQ(0, readaheads);
}

/* Cache files opened: cachefiles' OPENs, or fanotify's blob files. */
static uint64_t blob_files_opened(FIXTURE_DATA(served) *self)
{
	char pattern[PATH_MAX + 16];
	uint64_t n = 0;

	if (!ktest_on_fanotify(&self->d)) {
		if (ktest_frontend_counter(&self->d, "opens", &n))
			return UINT64_MAX;
		return n;
	}
	snprintf(pattern, sizeof(pattern), "%s/fanotify/*", self->d.cache_dir);
	return ktest_count_paths(pattern);
}

TEST_F_TIMEOUT(served, two_images_in_one_domain, 120)
{
	struct ktest_tree_stats st;

	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", "shared", self->mnt));
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-b", "shared", self->mnt2));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	ASSERT_EQ(0, ktest_compare_image("dom-b", self->mnt2, &st));
	EXPECT_EQ(2, blob_files_opened(self));
}

/* The nydus layout: a bootstrap whose file data lives in a separate blob. */
TEST_F_TIMEOUT(served, bootstrap_with_a_separate_data_blob, 120)
{
	struct ktest_tree_stats st;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	ASSERT_EQ(0, ktest_mount_on(&self->d, "chunked", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	/* cachefiles: the bootstrap and the data blob; fanotify: the data blob. */
	EXPECT_EQ(ktest_on_fanotify(&self->d) ? 1 : 2, blob_files_opened(self));
}

/* Two images of one domain that share a data blob open it once. */
TEST_F_TIMEOUT(served, shared_data_blob_is_opened_once_per_domain, 120)
{
	struct ktest_tree_stats st;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	ASSERT_EQ(0, ktest_mount_on(&self->d, "chunked", "layers", self->mnt));
	ASSERT_EQ(0, ktest_mount_on(&self->d, "chunked-twin", "layers", self->mnt2));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt2, &st));
	/* cachefiles: two bootstraps; fanotify: none, they are local. */
	EXPECT_EQ(ktest_on_fanotify(&self->d) ? 1 : 3, blob_files_opened(self));
}

TEST_F_TIMEOUT(served, eight_concurrent_readers, 600)
{
	pid_t pids[8];
	int i, status, failed = 0;

	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	fflush(stdout);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			struct ktest_tree_stats st;
			char src[PATH_MAX], err[PATH_MAX + 128];

			snprintf(src, sizeof(src), "%s/src/main",
				 ktest_images());
			if (ktest_compare_trees(src, self->mnt, &st, err,
						sizeof(err))) {
				printf("# reader %d: %s\n", i, err);
				fflush(stdout);
				_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	EXPECT_EQ(0, failed);
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

TEST_F_TIMEOUT(served, unknown_fsid_fails_and_daemon_keeps_serving, 120)
{
	struct ktest_tree_stats st;
	uint64_t errors;

	EXPECT_NE(0, ktest_mount_on(&self->d, "no-such-image", NULL, self->mnt));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "open_errors",
					  &errors));
	EXPECT_EQ(1, errors);
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
}

TEST_F_TIMEOUT(served, unsafe_fsids_are_refused, 120)
{
	static const char *const bad[] = {
		"..", "../blobs/plain", "a/../../plain", ".hidden",
	};
	struct ktest_tree_stats st;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_NE(0, ktest_mount_on(&self->d, bad[i], NULL, self->mnt));
		EXPECT_TRUE(ktest_daemon_alive(&self->d));
	}
	/* fanotify has no domains: cachefiles' domain_id is checked too. */
	if (!ktest_on_fanotify(&self->d))
		EXPECT_NE(0, ktest_mount_on(&self->d, "dom-a", "../x", self->mnt));
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
}

TEST_F_TIMEOUT(served, remount_reads_from_the_cache, 300)
{
	uint64_t reads1, reads2, breads1, breads2;
	struct ktest_tree_stats st;

	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "reads", &reads1));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads",
					  &breads1));
	EXPECT_GT(breads1, 0);

	/* Drop the page cache so the kernel really goes to the cache file. */
	EXPECT_EQ(0, ktest_drop_caches());
	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "reads", &reads2));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads",
					  &breads2));
	TH_LOG("first mount: %llu backend reads; remount: %llu more",
	       (unsigned long long)breads1,
	       (unsigned long long)(breads2 - breads1));
	EXPECT_EQ(reads1, reads2);
	EXPECT_EQ(breads1, breads2);
}

/*
 * Prefetch fills the whole blob in the background after its first read;
 * then reading every file asks the daemon for nothing, for an uncompressed
 * image (several pieces at once) and a compressed one (one at a time, from
 * the end, so its unmount in the teardown does not wedge).
 */
static void prefetch_fills_the_blob(struct __test_metadata *_metadata,
				    FIXTURE_DATA(served) *self,
				    const char *image, const char *data_blob)
{
	char config[PATH_MAX + 32], dir[PATH_MAX], blob[PATH_MAX * 2];
	char first[PATH_MAX + 32];
	struct stat sb;
	uint64_t size;
	const char *extra[] = { "--config", config, NULL };
	uint64_t bytes = 0, requests1, requests2, breads1, breads2, errors;
	struct ktest_tree_stats st;
	unsigned int waited;

	snprintf(blob, sizeof(blob), "%s/%s", self->blobs, data_blob);
	ASSERT_EQ(0, stat(blob, &sb));
	size = sb.st_size;
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("pf", dir, sizeof(dir)));
	snprintf(config, sizeof(config), "%s/config.json", dir);
	ASSERT_EQ(0, ktest_write_prefetch_config(config, self->blobs));
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
	ASSERT_EQ(0, ktest_mount_on(&self->d, image, NULL, self->mnt));
	/* The first read: a page of the first big file. */
	snprintf(first, sizeof(first), "%s/big/file-64m", self->mnt);
	EXPECT_EQ(0, ktest_read_page(first));
	for (waited = 0; waited < 60000; waited += 100) {
		ASSERT_EQ(0, ktest_daemon_counter(&self->d,
				"factory.total.backend_read_bytes", &bytes));
		if (bytes >= size)
			break;
		usleep(100000);
	}
	TH_LOG("%s: %llu of %llu bytes prefetched in %u ms", image,
	       (unsigned long long)bytes, (unsigned long long)size, waited);
	ASSERT_EQ(size, bytes);
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "read_requests",
					  &requests1));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads1));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "read_requests",
					  &requests2));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads2));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.prefetch_errors", &errors));
	EXPECT_EQ(requests1, requests2);
	EXPECT_EQ(breads1, breads2);
	EXPECT_EQ(0, errors);
}

TEST_F_TIMEOUT(served, prefetch_fills_an_uncompressed_blob, 300)
{
	const char *data;
	const char *image = ktest_lazy_main(&self->d, &data);

	prefetch_fills_the_blob(_metadata, self, image, data);
}

TEST_F_TIMEOUT(served, prefetch_fills_a_compressed_blob, 300)
{
	KTEST_SKIP_UNLESS_COMPRESSED();
	/* On fanotify before 7.3 it is filled whole at the mount: no matter. */
	prefetch_fills_the_blob(_metadata, self, "lz4hc", "lz4hc");
}

/*
 * A daemon started again on the same cache directory finds what the last
 * one fetched: the cache files stay, and the kernel asks only for holes.
 * (Mounts do not survive the restart yet: they are unmounted first.)
 */
TEST_F_TIMEOUT(served, a_restarted_daemon_refetches_nothing, 300)
{
	char cache[PATH_MAX];
	struct ktest_tree_stats st;
	uint64_t breads, reads;

	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("cache", cache, sizeof(cache)));
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, NULL));
	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads));
	EXPECT_GT(breads, 0);
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));

	EXPECT_EQ(0, ktest_drop_caches());
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, NULL));
	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "read_requests",
					  &reads));
	TH_LOG("after the restart: %llu READs, %llu backend reads",
	       (unsigned long long)reads, (unsigned long long)breads);
	EXPECT_EQ(0, breads);
	EXPECT_EQ(0, reads);
}

/*
 * With read-ahead (on by default), a sequential reader finds most of the
 * file already in the cache file: far fewer READs than the 256 of a 64 MiB
 * file in 256 KiB requests, and the same bytes.
 */
TEST_F_TIMEOUT(served, readahead_serves_a_sequential_reader, 300)
{
	char file[PATH_MAX + 32], src[PATH_MAX];
	unsigned char a[32], b[32];
	uint64_t reads, readaheads;

	ASSERT_EQ(0, ktest_mount_on(&self->d, ktest_lazy_main(&self->d, NULL),
				    NULL, self->mnt));
	snprintf(file, sizeof(file), "%s/big/file-64m", self->mnt);
	snprintf(src, sizeof(src), "%s/src/main/big/file-64m", ktest_images());
	ASSERT_EQ(0, ktest_sha256_file(file, a));
	ASSERT_EQ(0, ktest_sha256_file(src, b));
	EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "reads", &reads));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "readaheads", &readaheads));
	TH_LOG("64 MiB read with %llu READs and %llu read-ahead fills",
	       (unsigned long long)reads, (unsigned long long)readaheads);
	EXPECT_LT(reads, 200);
	/*
	 * fanotify's demand fills are whole fetch units: on one CPU (UML
	 * 7.3) the reader's own reads came first, 62 of them, and 4 fills
	 * ahead; with two, 9 and 64.
	 */
	EXPECT_GT(readaheads, ktest_on_fanotify(&self->d) ? 0 : 10);
}

/*
 * A data blob that shrinks under the daemon: readers get EIO, never bad
 * bytes. The nydus layout, so that on fanotify too the data is fetched as it
 * is read (a whole image is filled before its mount before 7.3).
 */
TEST_F_TIMEOUT(served, truncated_blob_gives_eio_not_wrong_data, 120)
{
	const char *const no_readahead[] = { "--readahead-kb", "0", NULL };
	char blob[PATH_MAX + 16], dir[PATH_MAX], cmd[PATH_MAX * 3];
	char file[PATH_MAX + 16], src[PATH_MAX], boot[PATH_MAX + 16];
	struct ktest_image im = { .fsid = "chunked", .bootstrap = boot };
	struct ktest_daemon d2;
	static char got[1 << 16], want[1 << 16];
	ssize_t n, total = 0;
	int fd, sfd, saw_eio = 0;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	/* A private copy, served by a second daemon? No: one device. Stop. */
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("blobs", dir, sizeof(dir)));
	snprintf(blob, sizeof(blob), "%s/chunked-data", dir);
	snprintf(boot, sizeof(boot), "%s/chunked", dir);
	snprintf(cmd, sizeof(cmd), "cp %s/chunked %s/chunked-data %s",
		 self->blobs, self->blobs, dir);
	ASSERT_EQ(0, system(cmd));
	/* Read-ahead would fetch the whole blob at mount, before the cut. */
	ASSERT_EQ(0, ktest_daemon_start(&d2, dir, no_readahead));
	self->d = d2;

	ASSERT_EQ(0, ktest_image_mount(&self->d, &im, self->mnt));
	/* Lose most of the 5 MiB file's data. */
	ASSERT_EQ(0, truncate(blob, 256 << 10));

	snprintf(file, sizeof(file), "%s/sub/five-mib", self->mnt);
	snprintf(src, sizeof(src), "%s/src/chunked/sub/five-mib", ktest_images());
	fd = open(file, O_RDONLY);
	sfd = open(src, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_GE(sfd, 0);
	for (;;) {
		n = read(fd, got, sizeof(got));
		if (n < 0) {
			EXPECT_EQ(EIO, errno);
			saw_eio = 1;
			break;
		}
		if (n == 0)
			break;
		ASSERT_EQ(n, pread(sfd, want, n, total));
		ASSERT_EQ(0, memcmp(got, want, n));
		total += n;
	}
	close(fd);
	close(sfd);
	TH_LOG("read %zd good bytes before EIO", total);
	EXPECT_TRUE(saw_eio);
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

TEST(tmpfs_cache_dir_is_refused_with_a_clear_error)
{
	struct ktest_daemon d = { 0 };
	char dir[PATH_MAX];
	int status;

	REQUIRE_CACHEFILES();
	ASSERT_EQ(0, ktest_mkdtemp("tmpfs", dir, sizeof(dir)));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=16m"));
	ASSERT_EQ(0, ktest_daemon_spawn(&d, dir, ktest_images(), NULL));
	status = ktest_daemon_wait(&d, 10000);
	umount2(dir, MNT_DETACH);
	EXPECT_EQ(1, status);
	EXPECT_TRUE(ktest_daemon_log_contains(&d, "(tmpfs) cannot hold a cachefiles cache"));
	if (status != 1)
		ktest_daemon_dump_log(&d);
}

TEST(second_daemon_is_told_the_device_is_busy)
{
	struct ktest_daemon a = { 0 }, b = { 0 };
	char cache[PATH_MAX];
	int status;

	REQUIRE_CACHEFILES();
	ASSERT_EQ(0, ktest_daemon_start(&a, ktest_images(), NULL));
	ASSERT_EQ(0, ktest_mkdtemp("cache", cache, sizeof(cache)));
	ASSERT_EQ(0, ktest_daemon_spawn(&b, cache, ktest_images(), NULL));
	status = ktest_daemon_wait(&b, 10000);
	EXPECT_EQ(1, status);
	EXPECT_TRUE(ktest_daemon_log_contains(&b, "another cache daemon holds it"));
	EXPECT_TRUE(ktest_daemon_alive(&a));
	EXPECT_EQ(0, ktest_daemon_stop(&a));
}

TEST_HARNESS_MAIN
