// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end: real fscached, real /dev/cachefiles, real EROFS mounts in the
 * user-mode-Linux test kernel; every file compared with its source.
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

/* A macro, so that its skip returns from the test itself. */
#define REQUIRE_CACHEFILES()						\
	do {								\
		KTEST_SKIP_UNLESS_CACHEFILES();				\
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
	REQUIRE_CACHEFILES();
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

	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
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
	ASSERT_EQ(0, ktest_mount("lz4hc", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	EXPECT_GE(st.files, 2100);
	/*
	 * No window is written ahead into a compressed image's cache file:
	 * the kernel would wedge its unmount (the teardown unmounts it).
	 */
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.readaheads",
					  &readaheads));
	EXPECT_EQ(0, readaheads);
}

TEST_F_TIMEOUT(served, two_images_in_one_domain, 120)
{
	struct ktest_tree_stats st;
	uint64_t opens;

	ASSERT_EQ(0, ktest_mount("dom-a", "shared", self->mnt));
	ASSERT_EQ(0, ktest_mount("dom-b", "shared", self->mnt2));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	ASSERT_EQ(0, ktest_compare_image("dom-b", self->mnt2, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.opens", &opens));
	EXPECT_EQ(2, opens);
}

/* The nydus layout: a bootstrap whose file data lives in a separate blob. */
TEST_F_TIMEOUT(served, bootstrap_with_a_separate_data_blob, 120)
{
	struct ktest_tree_stats st;
	uint64_t opens;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	ASSERT_EQ(0, ktest_mount("chunked", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.opens", &opens));
	/* The bootstrap and the data blob. */
	EXPECT_EQ(2, opens);
}

/* Two images of one domain that share a data blob open it once. */
TEST_F_TIMEOUT(served, shared_data_blob_is_opened_once_per_domain, 120)
{
	struct ktest_tree_stats st;
	uint64_t opens;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	ASSERT_EQ(0, ktest_mount("chunked", "layers", self->mnt));
	ASSERT_EQ(0, ktest_mount("chunked-twin", "layers", self->mnt2));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt2, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.opens", &opens));
	EXPECT_EQ(3, opens);
}

TEST_F_TIMEOUT(served, eight_concurrent_readers, 600)
{
	pid_t pids[8];
	int i, status, failed = 0;

	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
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

	EXPECT_NE(0, ktest_mount("no-such-image", NULL, self->mnt));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.open_errors",
					  &errors));
	EXPECT_EQ(1, errors);
	ASSERT_EQ(0, ktest_mount("dom-a", NULL, self->mnt));
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
		EXPECT_NE(0, ktest_mount(bad[i], NULL, self->mnt));
		EXPECT_TRUE(ktest_daemon_alive(&self->d));
	}
	EXPECT_NE(0, ktest_mount("dom-a", "../x", self->mnt));
	ASSERT_EQ(0, ktest_mount("dom-a", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
}

TEST_F_TIMEOUT(served, remount_reads_from_the_cache, 300)
{
	uint64_t reads1, reads2, breads1, breads2;
	struct ktest_tree_stats st;
	int fd;

	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.reads", &reads1));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads",
					  &breads1));
	EXPECT_GT(breads1, 0);

	/* Drop the page cache so the kernel really goes to the cache file. */
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		EXPECT_EQ(1, write(fd, "3", 1));
		close(fd);
	}
	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.reads", &reads2));
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
 * Prefetch fills the whole blob in the background after the first read;
 * then reading every file asks the daemon for nothing, for an uncompressed
 * image (several pieces at once) and a compressed one (one at a time, from
 * the end, so its unmount in the teardown does not wedge).
 */
static void prefetch_fills_the_blob(struct __test_metadata *_metadata,
				    FIXTURE_DATA(served) *self,
				    const char *image)
{
	char config[PATH_MAX + 32], dir[PATH_MAX], blob[PATH_MAX * 2];
	struct stat sb;
	uint64_t size;
	const char *extra[] = { "--config", config, NULL };
	uint64_t bytes = 0, requests1, requests2, breads1, breads2, errors;
	struct ktest_tree_stats st;
	unsigned int waited;

	snprintf(blob, sizeof(blob), "%s/%s", self->blobs, image);
	ASSERT_EQ(0, stat(blob, &sb));
	size = sb.st_size;
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("pf", dir, sizeof(dir)));
	snprintf(config, sizeof(config), "%s/config.json", dir);
	ASSERT_EQ(0, ktest_write_prefetch_config(config, self->blobs));
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
	ASSERT_EQ(0, ktest_mount(image, NULL, self->mnt));
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
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.read_requests",
					  &requests1));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads1));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.read_requests",
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
	prefetch_fills_the_blob(_metadata, self, "plain");
}

TEST_F_TIMEOUT(served, prefetch_fills_a_compressed_blob, 300)
{
	KTEST_SKIP_UNLESS_COMPRESSED();
	prefetch_fills_the_blob(_metadata, self, "lz4hc");
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
	int fd;

	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("cache", cache, sizeof(cache)));
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, NULL));
	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads));
	EXPECT_GT(breads, 0);
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));

	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		EXPECT_EQ(1, write(fd, "3", 1));
		close(fd);
	}
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, NULL));
	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("main", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d,
					  "factory.total.backend_reads", &breads));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.read_requests",
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

	ASSERT_EQ(0, ktest_mount("plain", NULL, self->mnt));
	snprintf(file, sizeof(file), "%s/big/file-64m", self->mnt);
	snprintf(src, sizeof(src), "%s/src/main/big/file-64m", ktest_images());
	ASSERT_EQ(0, ktest_sha256_file(file, a));
	ASSERT_EQ(0, ktest_sha256_file(src, b));
	EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.reads", &reads));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "frontend.readaheads", &readaheads));
	TH_LOG("64 MiB read with %llu READs and %llu read-ahead fills",
	       (unsigned long long)reads, (unsigned long long)readaheads);
	EXPECT_LT(reads, 200);
	EXPECT_GT(readaheads, 10);
}

/* A blob that shrinks under the daemon: readers get EIO, never bad bytes. */
TEST_F_TIMEOUT(served, truncated_blob_gives_eio_not_wrong_data, 120)
{
	const char *const no_readahead[] = { "--readahead-kb", "0", NULL };
	char blob[PATH_MAX + 16], dir[PATH_MAX], cmd[PATH_MAX * 3];
	char file[PATH_MAX + 16], src[PATH_MAX];
	struct ktest_daemon d2;
	static char got[1 << 16], want[1 << 16];
	ssize_t n, total = 0;
	int fd, sfd, saw_eio = 0;

	/* A private copy, served by a second daemon? No: one device. Stop. */
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_mkdtemp("blobs", dir, sizeof(dir)));
	snprintf(blob, sizeof(blob), "%s/fragile", dir);
	snprintf(cmd, sizeof(cmd), "cp %s/fragile %s", self->blobs, blob);
	ASSERT_EQ(0, system(cmd));
	/* Read-ahead would fetch the whole blob at mount, before the cut. */
	ASSERT_EQ(0, ktest_daemon_start(&d2, dir, no_readahead));
	self->d = d2;

	ASSERT_EQ(0, ktest_mount("fragile", NULL, self->mnt));
	/* Keep the metadata, lose most of the 2 MiB file's data. */
	ASSERT_EQ(0, truncate(blob, 256 << 10));

	snprintf(file, sizeof(file), "%s/data-2m", self->mnt);
	snprintf(src, sizeof(src), "%s/src/fragile/data-2m", ktest_images());
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
