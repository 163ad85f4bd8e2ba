// SPDX-License-Identifier: GPL-2.0
/*
 * Real nydus images (RAFS v6, built by tools/mkrafs) in the kernel: each
 * variant is mounted as nydus-snapshotter mounts it on the front end
 * ktest_frontend() picks (cachefiles: bound through PUT /api/v2/blobs with
 * its bootstrap at metadata_path, its data blobs named by the blob table,
 * and mounted over fscache; fanotify: POST /api/v1/mount of its bootstrap
 * with the same config), and read by 8 readers at once; every file must
 * be right. A remount then costs no backend byte: the cache files keep
 * the chunks, the cache dir keeps the blob meta.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/compiler.h"
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

	const char *fe;

	memset(self, 0, sizeof(*self));
	KTEST_PICK_FRONTEND(fe);
	(void)fe;
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

/* The one data blob of @variant, by its file name under blobs/. */
static int data_blob_id(const char *variant, char *id, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/nydus/%s/blobs", ktest_images(), variant);
	dp = opendir(path);
	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			snprintf(id, len, "%s", e->d_name);
			n++;
		}
	closedir(dp);
	return n == 1 ? 0 : -EINVAL;
}

/* A variant's image, as nydus-snapshotter mounts it. */
struct variant {
	char meta[PATH_MAX];
	char cfg[PATH_MAX * 2];
	struct ktest_image im;
};

/*
 * @variant as image @fsid of @domain, its blobs in @blobs (NULL: its own),
 * under config id @cfg_id (NULL: the variant's name).
 */
static const struct ktest_image *
variant_image(struct variant *v, const char *fsid, const char *variant,
	      const char *domain, const char *blobs, const char *cfg_id,
	      bool validate)
{
	char own[PATH_MAX], id[80];
	const char *img = ktest_images();

	/* "inline" is bound by its data blob, which holds its bootstrap. */
	if (!strcmp(variant, "inline") && !data_blob_id(variant, id, sizeof(id)))
		snprintf(v->meta, sizeof(v->meta), "%s/nydus/%s/blobs/%s", img, variant, id);
	else
		snprintf(v->meta, sizeof(v->meta), "%s/nydus/%s/image.boot", img, variant);
	snprintf(own, sizeof(own), "%s/nydus/%s/blobs", img, variant);
	snprintf(v->cfg, sizeof(v->cfg),
		 "{\"version\": 2, \"id\": \"cfg-%s\", \"backend\": {\"type\": \"localfs\","
		 " \"localfs\": {\"dir\": \"%s\"}}, \"cache\": {\"type\": \"fscache\","
		 " \"validate\": %s}}", cfg_id ? cfg_id : variant, blobs ? blobs : own,
		 validate ? "true" : "false");
	v->im.fsid = fsid;
	v->im.domain = domain;
	v->im.bootstrap = v->meta;
	v->im.config = v->cfg;
	return &v->im;
}

/* Mount @variant as image @fsid of @domain on @mnt. */
static int mount_variant_as(FIXTURE_DATA(nydus) *self, const char *fsid,
			    const char *variant, const char *domain,
			    bool validate, const char *mnt)
{
	struct variant v;

	return ktest_image_mount(&self->d, variant_image(&v, fsid, variant, domain,
							 NULL, NULL, validate), mnt);
}

/* ... with the variant's name for its fsid. */
static int mount_variant(FIXTURE_DATA(nydus) *self, const char *variant,
			 const char *domain, bool validate)
{
	return mount_variant_as(self, variant, variant, domain, validate,
				self->mnt);
}

static uint64_t counter(FIXTURE_DATA(nydus) *self, const char *name)
{
	uint64_t v = 0;

	if (ktest_daemon_counter(&self->d, name, &v))
		return UINT64_MAX;
	return v;
}

static void nap_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The fsid as nydus-snapshotter makes one: a digest, though not the
 * bootstrap's own (it names the layer that carried the bootstrap), here
 * that of the image's manifest.json. cache.validate and the recheck must
 * leave such a bootstrap alone.
 */
static int snapshotter_fsid(const char *variant, char *fsid, size_t len)
{
	unsigned char md[32];
	char path[PATH_MAX];
	int i, ret;

	if (len < 65)
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/nydus/%s/manifest.json", ktest_images(),
		 variant);
	ret = ktest_sha256_file(path, md);
	if (ret)
		return ret;
	for (i = 0; i < 32; i++)
		sprintf(fsid + 2 * i, "%02x", md[i]);
	return 0;
}

/* Bind, mount, read with READERS at once, remount for free, unbind. */
static void check_variant(struct __test_metadata *_metadata,
			  FIXTURE_DATA(nydus) *self, const char *variant,
			  const char *tree, bool validate)
{
	struct ktest_tree_stats st;
	uint64_t fetched, chunks, reads, v;
	char domain[64], fsid[65];
	int failed;

	snprintf(domain, sizeof(domain), "dom-%s", variant);
	ASSERT_EQ(0, snapshotter_fsid(variant, fsid, sizeof(fsid)));
	ASSERT_EQ(0, mount_variant_as(self, fsid, variant, domain, validate,
				      self->mnt));
	failed = ktest_read_concurrently(tree, self->mnt, READERS);
	if (failed)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, failed);
	ASSERT_EQ(0, ktest_compare_image(tree, self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
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
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "reads", &reads));
	ASSERT_EQ(0, mount_variant_as(self, fsid, variant, domain, validate,
				      self->mnt));
	ASSERT_EQ(0, ktest_compare_image(tree, self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_EQ(0, ktest_frontend_counter(&self->d, "reads", &v));
	EXPECT_EQ(reads, v);
	EXPECT_EQ(0, ktest_frontend_counter(&self->d, "read_errors", &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(fetched, counter(self, "factory.total.backend_read_bytes"));
	EXPECT_EQ(chunks, counter(self, "factory.total.chunks_fetched"));
	EXPECT_EQ(0, counter(self, "factory.total.digest_mismatches"));
	EXPECT_EQ(0, counter(self, "factory.total.decode_errors"));
	if (!ktest_on_fanotify(&self->d))
		EXPECT_EQ(0, counter(self, "frontend.recheck_mismatches"));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

/*
 * nydus-snapshotter's last step after an unmount, DELETE ?blob_id=: the
 * data blob's cache file is culled, and the blob meta kept beside it
 * (<cache dir>/nydus/) goes with it.
 */
TEST_F_TIMEOUT(nydus, a_culled_blob_takes_its_meta_copy_along, 600)
{
	char id[128], meta[PATH_MAX + 160], url[256];
	struct ktest_tree_stats st;
	int i;

	ASSERT_EQ(0, data_blob_id("none", id, sizeof(id)));
	snprintf(meta, sizeof(meta), "%s/nydus/%s.blob.meta", self->d.cache_dir, id);
	ASSERT_EQ(0, mount_variant(self, "none", "dom-cull", false));
	ASSERT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_EQ(0, access(meta, F_OK));
	/* fanotify has no domains: an unmount leaves no binding. */
	if (!ktest_on_fanotify(&self->d))
		EXPECT_EQ(204, ktest_api(self->sock, "DELETE",
					 "/api/v2/blobs?domain_id=dom-cull", NULL));
	snprintf(url, sizeof(url), "/api/v2/blobs?blob_id=%s", id);
	/* The kernel links the cache file in just after its CLOSE. */
	for (i = 0; i < 100 && !access(meta, F_OK); i++) {
		EXPECT_EQ(204, ktest_api(self->sock, "DELETE", url, NULL));
		nap_ms(100);
	}
	EXPECT_NE(0, access(meta, F_OK));
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

/* nydus-image --blob-inline-meta, one layer on its own, bound by its blob. */
TEST_F_TIMEOUT(nydus, bootstrap_inlined_in_its_blob, 600)
{
	check_variant(_metadata, self, "inline", "nydus", false);
}

TEST_F_TIMEOUT(nydus, two_layers_merged_validated, 600)
{
	check_variant(_metadata, self, "layers", "nydus-merged", true);
}

/*
 * The files the image's builder named for prefetch are fetched after the
 * first read, with cache.prefetch off: reading one small file brings
 * /big/seq.txt and /links/target along, and nothing else of the blob.
 */
TEST_F_TIMEOUT(nydus, prefetch_table_files_come_first, 600)
{
	char path[PATH_MAX + 64], buf[4096];
	struct ktest_tree_stats st;
	struct stat sb;
	uint64_t want, got = 0;
	int fd, i;

	ASSERT_EQ(0, mount_variant(self, "prefetch", "dom-pf", false));
	snprintf(path, sizeof(path), "%s/src/nydus/big/seq.txt", ktest_images());
	ASSERT_EQ(0, stat(path, &sb));
	want = ALIGN_UP((uint64_t)sb.st_size, 4096);
	snprintf(path, sizeof(path), "%s/src/nydus/links/target", ktest_images());
	ASSERT_EQ(0, stat(path, &sb));
	want += ALIGN_UP((uint64_t)sb.st_size, 4096);
	snprintf(path, sizeof(path), "%s/small/f007", self->mnt);
	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_GE(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* Wait for it (a loaded machine is slow), up to 60 s. */
	for (i = 0; i < 600; i++) {
		got = counter(self, "factory.total.prefetch_bytes");
		if (got != UINT64_MAX && got >= want)
			break;
		nap_ms(100);
	}
	TH_LOG("prefetched %llu bytes of the named files' %llu", (unsigned long long)got,
	       (unsigned long long)want);
	/* Whole chunks, widened to the fetch unit: a little more, not all. */
	EXPECT_GE(got, want);
	EXPECT_LT(counter(self, "factory.total.chunk_bytes"), 11ULL << 20);
	EXPECT_TRUE(ktest_daemon_log_contains(&self->d, "the files its image names"));
	ASSERT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
}

/* Without the API: --bootstrap names the image, --blob-dir its blobs. */
TEST_F_TIMEOUT(nydus, bootstrap_option_without_the_api, 600)
{
	char boot[PATH_MAX], blobs[PATH_MAX];
	const char *extra[] = { "--bootstrap", boot, NULL };
	struct ktest_tree_stats st;

	if (ktest_on_fanotify(&self->d))
		SKIP(return, "on fanotify the daemon mounts, through its API (test_fanotify's fscachectl_and_the_mount_helper)");
	snprintf(boot, sizeof(boot), "%s/nydus/lz4/image.boot", ktest_images());
	snprintf(blobs, sizeof(blobs), "%s/nydus/lz4/blobs", ktest_images());
	ASSERT_EQ(0, ktest_daemon_stop(&self->d));
	ASSERT_EQ(0, ktest_daemon_start(&self->d, blobs, extra));
	ASSERT_EQ(0, ktest_mount("image.boot", NULL, self->mnt));
	EXPECT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_GT(counter(self, "factory.total.chunks_fetched"), 0);
}

/*
 * Bad data next to good: a copy of the zstd image whose blob has one byte
 * of chunk data flipped, validated, and a truncated copy; the good image
 * is mounted beside them (in a domain of its own) and must read right
 * throughout. fanotify shares a blob file by its id alone, as a digest
 * allows: there, each copy is mounted on its own, its blob file culled
 * after it, and the good image last.
 */
TEST_F_TIMEOUT(nydus, bad_blobs_fail_alone, 600)
{
	char cmd[PATH_MAX * 4], bad[PATH_MAX], dir[PATH_MAX + 16], id[80];
	char url[160];
	bool beside = !ktest_on_fanotify(&self->d);
	struct variant v;
	char mnt2[PATH_MAX], path[PATH_MAX + 64], buf[65536];
	const char *img = ktest_images();
	struct ktest_tree_stats st;
	unsigned long eio = 0, other = 0;
	int i, fd, ret;

	snprintf(bad, sizeof(bad), "%s/bad", self->dir);
	snprintf(cmd, sizeof(cmd),
		 "set -e; mkdir -p %s/flip %s/short; cp %s/nydus/zstd/blobs/* %s/flip/;"
		 " cp %s/nydus/zstd/blobs/* %s/short/;"
		 " for f in %s/flip/*; do printf '\\132' | dd of=$f bs=1 seek=3000 conv=notrunc status=none; done;"
		 " for f in %s/short/*; do truncate -s 4000 $f; done",
		 bad, bad, img, bad, img, bad, bad, bad);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, ktest_mkdtemp("mnt", mnt2, sizeof(mnt2)));
	ASSERT_EQ(0, data_blob_id("zstd", id, sizeof(id)));
	snprintf(url, sizeof(url), "/api/v2/blobs?blob_id=%s", id);
	if (beside)
		ASSERT_EQ(0, mount_variant(self, "zstd", "good", false));

	/*
	 * The truncated blob's meta is past its end: its open is refused.
	 * On cachefiles that comes with the first read, whose reader gets an
	 * error; fanotify opens its blobs at the mount, which fails.
	 */
	snprintf(dir, sizeof(dir), "%s/short", bad);
	variant_image(&v, "zstd", "zstd", "short", dir, "short", true);
	ret = ktest_image_mount(&self->d, &v.im, mnt2);
	if (!ret) {
		snprintf(path, sizeof(path), "%s/small/f100", mnt2);
		fd = open(path, O_RDONLY);
		ASSERT_GE(fd, 0);
		EXPECT_LT(read(fd, buf, sizeof(buf)), 0);
		close(fd);
		ASSERT_EQ(0, ktest_image_umount(&self->d, mnt2));
	} else {
		EXPECT_TRUE(ktest_on_fanotify(&self->d));
	}
	if (!beside)
		EXPECT_EQ(204, ktest_api(self->sock, "DELETE", url, NULL));
	EXPECT_TRUE(ktest_daemon_log_contains(&self->d, "past the blob's 4000 bytes"));
	/* The flipped chunk: EIO for what it holds, right bytes elsewhere. */
	snprintf(dir, sizeof(dir), "%s/flip", bad);
	variant_image(&v, "zstd", "zstd", "flip", dir, "flip", true);
	ASSERT_EQ(0, ktest_image_mount(&self->d, &v.im, mnt2));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/big/%s", mnt2,
			 i ? "random-6m-copy" : "random-6m");
		ret = ktest_read_all(path);
		if (ret == -EIO)
			eio++;
		else if (ret)
			other++;
	}
	TH_LOG("flipped chunk: %lu of 2 reads got EIO, %lu another error; digest_mismatches %llu",
	       eio, other, (unsigned long long)counter(self, "factory.total.digest_mismatches"));
	EXPECT_GT(counter(self, "factory.total.digest_mismatches"), 0);
	EXPECT_EQ(0, other);
	/* Every file the flipped chunk is not in still compares right. */
	snprintf(path, sizeof(path), "%s/src/nydus/small/f100", img);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s/small/f100", path, mnt2);
	EXPECT_EQ(0, system(cmd));
	ASSERT_EQ(0, ktest_image_umount(&self->d, mnt2));
	if (!beside) {
		EXPECT_EQ(204, ktest_api(self->sock, "DELETE", url, NULL));
		ASSERT_EQ(0, mount_variant(self, "zstd", "good", false));
	}
	ASSERT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

/*
 * kill -9 while 4 readers go through a nydus image, restarted each time
 * from systemd's fd store (the device or the fanotify group) with the same
 * cache dir: the readers never see a wrong byte (on fanotify, an EIO for a
 * read the dead daemon had taken is retried), and a chunk once written is
 * not fetched again (the chunks fetched over all the daemons' lives stay
 * within one blob's count plus what was in flight at each kill).
 */
#define KILLS		5
#define KILL_READERS	4

FIXTURE(nydus_restart) {
	struct ktest_daemon d;
	struct ktest_fdstore store;
	char dir[PATH_MAX];
	char cache[PATH_MAX];
	char mnt[PATH_MAX];
	char sock[PATH_MAX + 32];
	pid_t readers[KILL_READERS];
	int *stop;		/* shared: the readers go on until it is set */
};

FIXTURE_SETUP(nydus_restart)
{
	char boot[PATH_MAX];
	const char *fe;

	memset(self, 0, sizeof(*self));
	self->store.fd = -1;
	KTEST_PICK_FRONTEND(fe);
	if (!strcmp(fe, "cachefiles"))
		KTEST_SKIP_UNLESS_FAILOVER();
	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", ktest_images());
	if (access(boot, F_OK))
		SKIP(return, "no nydus images (tests/kernel/mkimages)");
	self->stop = mmap(NULL, sizeof(*self->stop), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->stop);
	*self->stop = 0;
	ASSERT_EQ(0, ktest_mkdtemp("nydus-restart", self->dir, sizeof(self->dir)));
	ASSERT_EQ(0, ktest_mkdtemp("cache", self->cache, sizeof(self->cache)));
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", self->dir);
}

FIXTURE_TEARDOWN(nydus_restart)
{
	int i;

	for (i = 0; i < KILL_READERS; i++)
		if (self->readers[i] > 0) {
			kill(self->readers[i], SIGKILL);
			waitpid(self->readers[i], NULL, 0);
		}
	umount2(self->mnt, MNT_DETACH);
	if (self->d.pid > 0)
		EXPECT_EQ(0, ktest_daemon_stop(&self->d));
	ktest_fdstore_close(&self->store);
	if (self->stop && self->stop != MAP_FAILED)
		munmap(self->stop, sizeof(*self->stop));
}

static int spawn_from_store(FIXTURE_DATA(nydus_restart) *self)
{
	/* Small fetches: many READs are in flight at a kill. */
	const char *extra[] = { "--apisock", self->sock, "--readahead-kb", "0",
				"--fetch-unit-kb", "64", NULL };
	struct ktest_spawn how = { .notify_socket = self->store.path,
				   .listen_fd = self->store.fd };
	int ret;

	ret = ktest_daemon_spawn_with(&self->d, self->cache, NULL, extra, &how);
	if (!ret)
		ret = ktest_daemon_wait_ready(&self->d);
	if (!ret)
		ret = ktest_fdstore_wait_fd(&self->store, 30000);
	return ret;
}

/*
 * A reader: every file of the tree, each block in a random order, and then
 * again until @stop (a fast host reads it all before the kills end). On
 * fanotify a read the killed daemon had taken gets EIO, retried; on
 * cachefiles the kernel gives the new daemon every READ again.
 */
static void nydus_reader(const char *src, const char *mnt, unsigned int seed,
			 enum ktest_eio eio, const int *stop)
{
	struct ktest_read_counts c = { .off = -1 };
	int ret;

	ret = ktest_read_tree_shuffled(src, mnt, seed, eio, stop, &c);
	if (c.eio)
		fprintf(stderr, "# reader: %llu EIO retried\n",
			(unsigned long long)c.eio);
	_exit(ret);
}

TEST_F_TIMEOUT(nydus_restart, kill9_mid_read_fetches_no_ready_chunk_again, 900)
{
	char src[PATH_MAX], boot[PATH_MAX], cfg[PATH_MAX * 2];
	const char *img = ktest_images();
	struct ktest_image im = { .fsid = "zstd", .domain = "kill",
				  .bootstrap = boot, .config = cfg };
	struct ktest_tree_stats st;
	uint64_t chunks = 0, total = 0, v, fetched;
	unsigned int seed = 3, kills, busy = 0;
	int i, status, failed = 0;
	enum ktest_eio eio;

	ASSERT_EQ(0, ktest_fdstore_open(&self->store, self->dir));
	ASSERT_EQ(0, spawn_from_store(self));
	eio = ktest_on_fanotify(&self->d) ? KTEST_EIO_RETRIED : KTEST_EIO_FAILS;
	snprintf(boot, sizeof(boot), "%s/nydus/zstd/image.boot", img);
	snprintf(cfg, sizeof(cfg),
		 "{\"version\": 2, \"id\": \"cfg\", \"backend\": {\"type\": \"localfs\","
		 " \"localfs\": {\"dir\": \"%s/nydus/zstd/blobs\"}}, \"cache\": {\"type\": \"fscache\"}}",
		 img);
	ASSERT_EQ(0, ktest_image_mount(&self->d, &im, self->mnt));
	snprintf(src, sizeof(src), "%s/src/nydus", img);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < KILL_READERS; i++) {
		self->readers[i] = fork();
		if (self->readers[i] == 0)
			nydus_reader(src, self->mnt, 100 + i, eio, self->stop);
	}
	for (kills = 0; kills < KILLS; kills++) {
		nap_ms(100 + rand_r(&seed) % 200);
		if (!ktest_daemon_counter(&self->d, "factory.total.chunks_fetched", &v))
			total += v;
		for (i = 0; i < KILL_READERS; i++) {
			if (self->readers[i] <= 0)
				continue;
			if (waitpid(self->readers[i], &status, WNOHANG) == 0) {
				busy++;
				continue;
			}
			self->readers[i] = 0;
			failed += !WIFEXITED(status) || WEXITSTATUS(status);
		}
		ASSERT_EQ(0, kill(self->d.pid, SIGKILL));
		ASSERT_EQ(128 + SIGKILL, ktest_daemon_wait(&self->d, 10000));
		ASSERT_EQ(0, spawn_from_store(self));
	}
	__atomic_store_n(self->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < KILL_READERS; i++) {
		if (self->readers[i] <= 0)
			continue;
		ASSERT_EQ(self->readers[i], waitpid(self->readers[i], &status, 0));
		self->readers[i] = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.chunks_fetched", &v));
	total += v;
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.backend_read_bytes",
					  &fetched));
	/* Chunks of the blob (its manifest is the builder's word). */
	{
		char cmd[PATH_MAX + 128], out[64];

		snprintf(cmd, sizeof(cmd),
			 "grep -o '\"chunk_count\": [0-9]*' %s/nydus/zstd/manifest.json | head -1 | grep -o '[0-9]*$'",
			 img);
		ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
		chunks = strtoull(out, NULL, 10);
	}
	TH_LOG("%u kills (%u reader-moments busy), %d of %d readers failed; %llu chunks fetched over all lives, the blob has %llu",
	       kills, busy, failed, KILL_READERS, (unsigned long long)total,
	       (unsigned long long)chunks);
	EXPECT_EQ(0, failed);
	/* The kills must have come while the readers read. */
	EXPECT_GE(busy, KILLS);
	EXPECT_GT(chunks, 0);
	/* At most a fill's worth of chunks per worker in flight at each kill. */
	EXPECT_LE(total, chunks + KILLS * 8);
	/* And a remount fetches nothing. */
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	ASSERT_EQ(0, ktest_image_mount(&self->d, &im, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("nydus", self->mnt, &st));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.backend_read_bytes", &v));
	EXPECT_EQ(fetched, v);
}

TEST_HARNESS_MAIN
