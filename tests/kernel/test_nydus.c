// SPDX-License-Identifier: GPL-2.0
/*
 * Real nydus images (RAFS v6, built by tools/mkrafs) in the kernel: each
 * variant is bound through the API as nydus-snapshotter binds it (a
 * bootstrap at metadata_path, its data blobs named by the blob table),
 * mounted over fscache, and read by 8 readers at once; every file must
 * be right. A remount then costs no backend byte: the cache files keep
 * the chunks, the cache dir keeps the blob meta.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "holder.h"
#include "ktest.h"

#define READERS	8

FIXTURE(nydus) {
	struct ktest_daemon d;
	char dir[PATH_MAX];
	char mnt[PATH_MAX];
	char sock[PATH_MAX + 32];
};

FIXTURE_SETUP(nydus)
{
	char boot[PATH_MAX];
	const char *extra[] = { "--apisock", self->sock, NULL };

	memset(self, 0, sizeof(*self));
	if (access("/dev/cachefiles", F_OK))
		SKIP(return, "no /dev/cachefiles: run inside tools/uml/run");
	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images: tests/kernel/mkimages needs python3-lz4, python3-zstandard and libblake3");
	ASSERT_EQ(0, ktest_mkdtemp("nydus", self->dir, sizeof(self->dir)));
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", self->dir);
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
}

FIXTURE_TEARDOWN(nydus)
{
	int status;

	umount2(self->mnt, MNT_DETACH);
	if (!self->d.pid)
		return;
	status = ktest_daemon_stop(&self->d);
	if (status)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, status);
}

/* PUT /api/v2/blobs as nydus-snapshotter sends it. */
static int bind_image(FIXTURE_DATA(nydus) *self, const char *variant,
		      const char *domain, bool validate)
{
	char body[PATH_MAX * 3];
	const char *img = ktest_images();

	snprintf(body, sizeof(body),
		 "{\"type\": \"bootstrap\", \"id\": \"%s\", \"domain_id\": \"%s\","
		 " \"metadata_path\": \"%s/nydus/%s/image.boot\", \"config_v2\": {\"version\": 2,"
		 " \"id\": \"cfg-%s\", \"backend\": {\"type\": \"localfs\","
		 " \"localfs\": {\"dir\": \"%s/nydus/%s/blobs\"}}, \"cache\": {\"type\": \"fscache\","
		 " \"validate\": %s}}}",
		 variant, domain, img, variant, variant, img, variant,
		 validate ? "true" : "false");
	return ktest_api(self->sock, "PUT", "/api/v2/blobs", body);
}

/* READERS processes compare the whole tree at once; 0 when all agree. */
static int read_concurrently(const char *tree, const char *mnt)
{
	char src[PATH_MAX], err[PATH_MAX + 128];
	struct ktest_tree_stats st;
	pid_t pids[READERS];
	int i, status, failed = 0;

	snprintf(src, sizeof(src), "%s/src/%s", ktest_images(), tree);
	for (i = 0; i < READERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			if (ktest_compare_trees(src, mnt, &st, err, sizeof(err))) {
				fprintf(stderr, "# reader %d: %s\n", i, err);
				_exit(1);
			}
			_exit(0);
		}
		if (pids[i] < 0)
			failed++;
	}
	for (i = 0; i < READERS; i++) {
		if (pids[i] <= 0)
			continue;
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	return failed;
}

static uint64_t counter(FIXTURE_DATA(nydus) *self, const char *name)
{
	uint64_t v = 0;

	if (ktest_daemon_counter(&self->d, name, &v))
		return UINT64_MAX;
	return v;
}

/* Bind, mount, read with READERS at once, remount for free, unbind. */
static void check_variant(struct __test_metadata *_metadata,
			  FIXTURE_DATA(nydus) *self, const char *variant,
			  const char *tree, bool validate)
{
	struct ktest_tree_stats st;
	uint64_t fetched, chunks;
	char domain[64];
	int failed;

	snprintf(domain, sizeof(domain), "dom-%s", variant);
	ASSERT_EQ(204, bind_image(self, variant, domain, validate));
	ASSERT_EQ(0, ktest_mount(variant, domain, self->mnt));
	failed = read_concurrently(tree, self->mnt);
	if (failed)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, failed);
	ASSERT_EQ(0, ktest_compare_image(tree, self->mnt, &st));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	fetched = counter(self, "factory.total.backend_read_bytes");
	chunks = counter(self, "factory.total.chunks_fetched");
	TH_LOG("%s: %llu chunks fetched, %llu backend bytes, %llu blob meta bytes, %llu us decompressing",
	       variant, (unsigned long long)chunks, (unsigned long long)fetched,
	       (unsigned long long)counter(self, "factory.total.meta_bytes"),
	       (unsigned long long)counter(self, "factory.total.decompress_us"));
	EXPECT_GT(chunks, 0);
	if (validate)
		EXPECT_GT(counter(self, "factory.total.chunks_verified"), 0);

	/* Remount: every chunk is in the cache files, the meta is kept. */
	ASSERT_EQ(0, ktest_mount(variant, domain, self->mnt));
	ASSERT_EQ(0, ktest_compare_image(tree, self->mnt, &st));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	EXPECT_EQ(fetched, counter(self, "factory.total.backend_read_bytes"));
	EXPECT_EQ(chunks, counter(self, "factory.total.chunks_fetched"));
	EXPECT_EQ(0, counter(self, "factory.total.digest_mismatches"));
	EXPECT_EQ(0, counter(self, "factory.total.decode_errors"));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

TEST_F_TIMEOUT(nydus, zstd_blake3_toc, 600)
{
	check_variant(_metadata, self, "zstd", "nydus", false);
}

TEST_F_TIMEOUT(nydus, lz4_block_v2_sha256_fixed_chunks, 600)
{
	check_variant(_metadata, self, "lz4", "nydus", false);
}

TEST_F_TIMEOUT(nydus, uncompressed_old_style_blob, 600)
{
	check_variant(_metadata, self, "none", "nydus", false);
}

TEST_F_TIMEOUT(nydus, gzip_with_crc32, 600)
{
	check_variant(_metadata, self, "gzip", "nydus", false);
}

TEST_F_TIMEOUT(nydus, batch_chunks, 600)
{
	check_variant(_metadata, self, "batch", "nydus", false);
}

TEST_F_TIMEOUT(nydus, separate_meta_blob_validated, 600)
{
	check_variant(_metadata, self, "separate", "nydus", true);
}

TEST_F_TIMEOUT(nydus, zran_oci_targz_in_place, 600)
{
	check_variant(_metadata, self, "zran", "nydus", false);
}

TEST_F_TIMEOUT(nydus, two_layers_merged_validated, 600)
{
	check_variant(_metadata, self, "layers", "nydus-merged", true);
}

TEST_HARNESS_MAIN
