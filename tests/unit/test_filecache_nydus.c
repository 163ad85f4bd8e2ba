// SPDX-License-Identifier: GPL-2.0
/*
 * nydus data blobs through the file cache manager, on images built by
 * tools/mkrafs (a builder written apart from our decoder, in Python): each
 * blob's cache file, filled piece by piece in random order, must equal the
 * uncompressed space the builder wrote beside it, byte for byte. A filled
 * chunk is never fetched again, also by a second open of the same cache
 * file, whose blob meta comes from the copy kept under the cache dir.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "image/bindings.h"
#include "image/bootstrap.h"
#include "cache/cache_int.h"
#include "cache/nydus.h"
#include "lib/compiler.h"
#include "config/config.h"
#include "cache/factory.h"
#include "harness.h"

FIXTURE(nydus) {
	char dir[64];
	struct factory f;
	bool factory_up;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void write_file(const char *path, size_t len, unsigned int seed,
		       bool compressible)
{
	FILE *f = fopen(path, "w");
	size_t i;

	for (i = 0; f && i < len; i++)
		fputc(compressible ? "nydus chunks\n"[(i + seed) % 13]
				   : (int)((i * 2654435761U + seed) >> 13 & 0xff),
		      f);
	if (f)
		fclose(f);
}

/* One layer's tree: multi-chunk, compressible, small, duplicate, zero files. */
static void make_tree(const char *dir, unsigned int seed)
{
	char path[PATH_MAX];
	int i;

	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(dir, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/random", dir);
	write_file(path, 1300000 + seed, seed, false);
	snprintf(path, sizeof(path), "%s/text", dir);
	write_file(path, 700001, seed, true);
	snprintf(path, sizeof(path), "%s/text-again", dir);
	write_file(path, 700001, seed, true);
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/sub/small-%d", dir, i);
		write_file(path, 100 + i * 997, seed + i, i % 2);
	}
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, 0, 0, false);
	snprintf(path, sizeof(path), "%s/zeros", dir);
	run("truncate -s 600000 %s", path);
}

FIXTURE_SETUP(nydus)
{
	if (run("/usr/bin/python3 -c 'import lz4.block, zstandard, ctypes; ctypes.CDLL(\"libblake3.so.0\")' 2>/dev/null"))
		SKIP(return, "tools/mkrafs needs Debian's python3-lz4, python3-zstandard and libblake3 (tools/install-deps)");
	strcpy(self->dir, "/var/tmp/fscached-nydus-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	make_tree(strcat(strcpy((char[PATH_MAX]){ 0 }, self->dir), "/layer1"), 1);
	make_tree(strcat(strcpy((char[PATH_MAX]){ 0 }, self->dir), "/layer2"), 2);
	ASSERT_EQ(0, run("tar -C %s/layer1 -czf %s/layer1.tar.gz .", self->dir, self->dir));
	ASSERT_EQ(0, factory_init(&self->f));
	self->factory_up = true;
}

FIXTURE_TEARDOWN(nydus)
{
	if (self->factory_up)
		factory_destroy(&self->f);
	if (self->dir[0])
		run("rm -rf %s", self->dir);
}

static int open_cache_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	return fd;
}

static int same_files(const char *a, const char *b)
{
	return run("cmp -s %s %s", a, b) ? -1 : 0;
}

struct blob_run {
	uint64_t backend_bytes;
	uint64_t chunks;
	uint64_t meta_bytes;
	uint64_t verified;
};

/* Fill blob @i of @bi into @cache in random pieces; what it cost. */
static int fill_blob(struct factory *f, struct fscached_config *cfg,
		     struct bootstrap_info *bi, unsigned int i,
		     const char *cache, const char *stage, unsigned int seed,
		     struct blob_run *cost)
{
	/* The kernel names a blob by its device tag, fetched by its id. */
	struct blob_info info = {
		.id = bi->tags[i], .domain = "d", .stage_dir = stage,
		.rafs = &bi->rafs[i],
		.chunk_digests = bi->digests ? bi->digests[i] : NULL,
		.nr_chunk_digests = bi->digests ? bi->nr_digests[i] : 0,
		.fetch_unit = 65536,
	};
	struct blob_cache *bc;
	struct io_buf buf;
	uint64_t before, size, off, len;
	int fd, ret = 0, k;

	fd = open_cache_file(cache);
	if (fd < 0)
		return -errno;
	info.cache_fd = fd;
	ret = factory_new_blob_cache(f, cfg, &info, &bc);
	close(fd);
	if (ret)
		return ret;
	io_buf_init(&buf, 65536);
	size = bc->size;
	before = counter_read(&bc->mgr->backend->stats.read_bytes);
	srandom(seed);
	for (k = 0; !ret && k < 40; k++) {
		off = (uint64_t)random() % size;
		len = 1 + (uint64_t)random() % 300000;
		ret = blob_cache_fill(bc, off, len, &buf, 0);
	}
	/* Then everything, as a whole-blob prefetch would. */
	for (off = 0; !ret && off < size; off += 1048576)
		ret = blob_cache_fill(bc, off, 1048576, &buf, FILL_PREFETCH);
	cost->backend_bytes = counter_read(&bc->mgr->backend->stats.read_bytes) -
			      before;
	cost->chunks = counter_read(&bc->stats.chunks_fetched);
	cost->meta_bytes = counter_read(&bc->stats.meta_bytes);
	cost->verified = counter_read(&bc->stats.chunks_verified);
	if (!ret && bc->size != bi->rafs[i].uncompressed_size)
		ret = -ERANGE;
	io_buf_release(&buf);
	blob_cache_put(bc);
	return ret;
}

/* The path of the one file in @dir. 0, or -1 when there are others. */
static int only_file(const char *dir, char *path, size_t len)
{
	struct dirent *e;
	int n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.' && n++ == 0)
			snprintf(path, len, "%s/%s", dir, e->d_name);
	closedir(dp);
	return n == 1 ? 0 : -1;
}

/* @fd is sealed, and its first device's tag is @id: what the kernel reads. */
static int check_served_copy(int fd, const char *id)
{
	unsigned char le[2];
	char tag[EROFS_DEVICE_TAG_MAX + 1] = "";
	int seals = fcntl(fd, F_GET_SEALS);

	/* devt_slotoff, in 128-byte slots, at 0x58 of the superblock */
	if (seals < 0 || !(seals & F_SEAL_WRITE) ||
	    pread(fd, le, sizeof(le), 1024 + 0x58) != sizeof(le) ||
	    pread(fd, tag, EROFS_DEVICE_TAG_MAX,
		  (off_t)(le[0] | le[1] << 8) * 128) != EROFS_DEVICE_TAG_MAX)
		return -1;
	return strcmp(tag, id) ? -1 : 0;
}

/* Build an image with @opts, fill every blob twice, compare. */
static int check_image(struct __test_metadata *_metadata, FIXTURE_DATA(nydus) *self,
		       const char *name, const char *opts, bool two_layers,
		       bool validate)
{
	char out[PATH_MAX], boot[PATH_MAX], cache[PATH_MAX], want[PATH_MAX];
	char stage[PATH_MAX], blobs[PATH_MAX], err[512] = "";
	struct fscached_config *cfg = NULL;
	struct bootstrap_info bi;
	struct blob_run first, again;
	bool inlined = strstr(opts, "--inline-bootstrap");
	unsigned int i;
	int ret;

	(void)_metadata;
	snprintf(out, sizeof(out), "%s/%s", self->dir, name);
	ret = run("tools/mkrafs --emit-uncompressed %s %s %s/%s %s >%s.log 2>&1",
		  opts, out, self->dir, strstr(opts, "--zran") ? "layer1.tar.gz" : "layer1",
		  two_layers ? strcat(strcpy((char[PATH_MAX]){ 0 }, self->dir), "/layer2") : "",
		  out);
	if (ret) {
		run("cat %s.log >&2", out);
		TH_LOG("%s: tools/mkrafs %s failed", name, opts);
		return -1;
	}
	snprintf(boot, sizeof(boot), "%s/image.boot", out);
	snprintf(blobs, sizeof(blobs), "%s/blobs", out);
	snprintf(stage, sizeof(stage), "%s/cache-dir", out);
	mkdir(stage, 0700);
	/* Bound as nydusd takes such an image: the data blob itself. */
	if (inlined && only_file(blobs, boot, sizeof(boot))) {
		TH_LOG("%s: not one data blob in %s", name, blobs);
		return -1;
	}
	ret = bootstrap_read(boot, validate, &bi, err, sizeof(err));
	if (ret || !bi.rafs) {
		TH_LOG("%s: %s", name, ret ? err : "not a RAFS image");
		return -1;
	}
	/*
	 * Inlined: its id from the file's name, the bootstrap served from a
	 * sealed memfd whose device tag (mkrafs writes a placeholder, as a
	 * stale id is in nydus' own) is that id, the kernel's name for it.
	 */
	if (inlined != bi.boot_in_memory ||
	    strcmp(bi.tags[0], bi.rafs[0].id) ||
	    (inlined && (!(bi.rafs[0].features & RAFS_BLOB_INLINED_FS_META) ||
			 strcmp(bi.rafs[0].id, strrchr(boot, '/') + 1) ||
			 check_served_copy(bi.boot_fd, bi.rafs[0].id)))) {
		TH_LOG("%s: in memory %d, tag %s, id %s", name, bi.boot_in_memory,
		       bi.tags[0], bi.rafs[0].id);
		ret = -1;
		goto out;
	}
	/* The variant is what the options asked for. */
	if ((strstr(opts, "--zran") && !(bi.rafs[0].features & RAFS_BLOB_ZRAN)) ||
	    (strstr(opts, "--separate") && !(bi.rafs[0].features & RAFS_BLOB_SEPARATE)) ||
	    (strstr(opts, "--batch") && !(bi.rafs[0].features & RAFS_BLOB_BATCH)) ||
	    (strstr(opts, "--no-toc") && (bi.rafs[0].features & RAFS_BLOB_HAS_TOC)) ||
	    (!strstr(opts, "--no-toc") && !(bi.rafs[0].features & RAFS_BLOB_HAS_TOC)) ||
	    (two_layers && bi.nr_blobs != 2)) {
		TH_LOG("%s: blob features 0x%x, %u blobs", name, bi.rafs[0].features,
		       bi.nr_blobs);
		ret = -1;
		goto out;
	}
	ret = config_new_localfs("c", blobs, "fscache", &cfg, err, sizeof(err));
	if (ret)
		goto out;
	cfg->validate = validate;
	for (i = 0; !ret && i < bi.nr_blobs; i++) {
		snprintf(cache, sizeof(cache), "%s/cache-%u", out, i);
		snprintf(want, sizeof(want), "%s/uncompressed/%s", out, bi.rafs[i].id);
		ret = fill_blob(&self->f, cfg, &bi, i, cache, stage, i + 7, &first);
		if (ret) {
			TH_LOG("%s: blob %u: fill: %s", name, i, strerror(-ret));
			break;
		}
		ret = same_files(cache, want);
		if (ret) {
			TH_LOG("%s: blob %u: the cache file is not the uncompressed space", name, i);
			break;
		}
		if (!first.chunks || !first.meta_bytes || first.backend_bytes < first.meta_bytes) {
			TH_LOG("%s: blob %u: %llu chunks, %llu meta bytes fetched", name, i,
			       (unsigned long long)first.chunks,
			       (unsigned long long)first.meta_bytes);
			ret = -1;
			break;
		}
		/* Validated: every chunk, by the chunk table or blob.digest. */
		if (validate && first.verified != first.chunks) {
			TH_LOG("%s: blob %u: %llu of %llu chunks verified", name, i,
			       (unsigned long long)first.verified,
			       (unsigned long long)first.chunks);
			ret = -1;
			break;
		}
		/* Reopened: the kept meta, the cache file's chunks: no fetch. */
		ret = fill_blob(&self->f, cfg, &bi, i, cache, stage, i + 99, &again);
		if (!ret && (again.backend_bytes || again.chunks || again.meta_bytes)) {
			TH_LOG("%s: blob %u: a second open fetched %llu bytes, %llu chunks",
			       name, i, (unsigned long long)again.backend_bytes,
			       (unsigned long long)again.chunks);
			ret = -1;
		}
		if (!ret)
			ret = same_files(cache, want);
		/* Its cache file culled, the meta copies go: fetched anew. */
		if (!ret && nydus_meta_drop(stage, bi.rafs[i].id) < 1) {
			TH_LOG("%s: blob %u: no local blob meta to drop", name, i);
			ret = -1;
		}
		if (!ret)
			ret = fill_blob(&self->f, cfg, &bi, i, cache, stage, i + 5, &again);
		if (!ret && (!again.meta_bytes || again.chunks ||
			     nydus_meta_drop(stage, bi.rafs[i].id) < 1)) {
			TH_LOG("%s: blob %u: after the drop: %llu meta bytes, %llu chunks",
			       name, i, (unsigned long long)again.meta_bytes,
			       (unsigned long long)again.chunks);
			ret = -1;
		}
	}
out:
	config_free(cfg);
	bootstrap_info_free(&bi);
	return ret;
}

TEST_F_TIMEOUT(nydus, zstd_v1_toc_blake3, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "zstd", "--chunk-size 256K", false, false));
}

/* nydus-image --blob-inline-meta: one layer used on its own. */
TEST_F_TIMEOUT(nydus, bootstrap_inlined_in_its_blob, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "inline",
				 "--chunk-size 256K --inline-bootstrap", false, true));
}

/*
 * Such a blob under a name that is no blob id, or with its image.boot
 * damaged: refused with an error that says so. So is its bootstrap
 * taken out and bound alone, which names no blob to fetch.
 */
TEST_F_TIMEOUT(nydus, bad_inlined_bootstraps_are_refused, 120)
{
	char out[PATH_MAX], blob[PATH_MAX], path[PATH_MAX], err[512] = "";
	struct bootstrap_info bi;

	snprintf(out, sizeof(out), "%s/inl", self->dir);
	ASSERT_EQ(0, run("tools/mkrafs --inline-bootstrap %s %s/layer1 >/dev/null 2>&1",
			 out, self->dir));
	snprintf(path, sizeof(path), "%s/blobs", out);
	ASSERT_EQ(0, only_file(path, blob, sizeof(blob)));

	snprintf(path, sizeof(path), "%s/renamed.blob", out);
	ASSERT_EQ(0, run("cp %s %s", blob, path));
	EXPECT_EQ(-EINVAL, bootstrap_read(path, false, &bi, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "file name is not its blob id"));

	/* The byte before image.boot's tar header: the end of its frame. */
	snprintf(path, sizeof(path), "%s/damaged/%s", out, strrchr(blob, '/') + 1);
	ASSERT_EQ(0, run("mkdir %s/damaged && cp %s %s && "
			 "o=$(grep -boa 'image.boot' %s | head -1 | cut -d: -f1) && "
			 "printf '\\x5a' | dd of=%s bs=1 seek=$((o - 1)) conv=notrunc status=none",
			 out, blob, path, path, path));
	err[0] = '\0';
	EXPECT_EQ(-EINVAL, bootstrap_read(path, false, &bi, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "inlined bootstrap: image.boot"));
	TH_LOG("damaged: %s", err);

	snprintf(path, sizeof(path), "%s/alone.boot", out);
	ASSERT_EQ(0, run("/usr/bin/python3 -c 'import sys, zstandard, struct; d = open(sys.argv[1], \"rb\").read(); "
			 "n = int(d[-512 + 124:-512 + 136].strip(bytes(1) + b\" \"), 8); e = d[-512 - n:-512]; "
			 "[sys.stdout.buffer.write(zstandard.ZstdDecompressor().decompress(d[o:o + c], max_output_size=u)) "
			 "for i in range(0, len(e), 128) if e[i + 8:i + 18] == b\"image.boot\" "
			 "for o, c, u in [struct.unpack_from(\"<QQQ\", e, i + 56)]]' %s > %s && test -s %s",
			 blob, path, path));
	err[0] = '\0';
	EXPECT_EQ(-EINVAL, bootstrap_read(path, false, &bi, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "INLINED_FS_META"));
}

/*
 * Every image made this way carries the same placeholder device tag: two
 * of them in one domain are two blobs, each served under its own id, and
 * each bootstrap from a reference of its own to its memfd.
 */
TEST_F_TIMEOUT(nydus, two_inlined_images_share_a_domain, 120)
{
	char out[PATH_MAX], blob[2][PATH_MAX], err[512] = "";
	char ids[2][RAFS_BLOB_ID_LEN + 1];
	struct fscached_config *cfg;
	struct bootstrap_info bi;
	struct blob_source src;
	struct bindings b;
	int i;

	bindings_init(&b);
	for (i = 0; i < 2; i++) {
		snprintf(out, sizeof(out), "%s/two%d", self->dir, i);
		ASSERT_EQ(0, run("tools/mkrafs --inline-bootstrap %s %s/layer%d >/dev/null 2>&1",
				 out, self->dir, i + 1));
		strcat(out, "/blobs");
		ASSERT_EQ(0, only_file(out, blob[i], sizeof(blob[i])));
		ASSERT_EQ(0, bootstrap_read(blob[i], false, &bi, err, sizeof(err)));
		ASSERT_EQ(1, bi.nr_blobs);
		ASSERT_EQ(0, check_served_copy(bi.boot_fd, bi.rafs[0].id));
		strcpy(ids[i], bi.rafs[0].id);
		ASSERT_EQ(0, config_new_localfs("c", out, "fscache", &cfg, err,
						sizeof(err)));
		EXPECT_EQ(0, bindings_add_image(&b, "dom", i ? "img1" : "img0",
						blob[i], cfg, &bi));
	}
	EXPECT_STRNE(ids[0], ids[1]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, bindings_resolve_source(&b, "dom", ids[i], &src));
		EXPECT_TRUE(src.is_rafs);
		EXPECT_STREQ(ids[i], src.rafs.id);
		blob_source_release(&src);
		ASSERT_EQ(0, bindings_resolve_source(&b, "dom", i ? "img1" : "img0",
						     &src));
		EXPECT_TRUE(src.local_bootstrap && src.has_boot_fd);
		EXPECT_EQ(0, check_served_copy(src.boot_fd, ids[i]));
		blob_source_release(&src);
	}
	EXPECT_EQ(2, bindings_remove_domain(&b, "dom"));
	bindings_destroy(&b);
}

TEST_F_TIMEOUT(nydus, lz4_v2_ci_zstd_sha256, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "lz4",
				 "--compressor lz4_block --ci-version 2 --ci-compressor zstd --digester sha256 --chunk-size 128K",
				 false, false));
}

TEST_F_TIMEOUT(nydus, none_without_toc, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "none",
				 "--compressor none --no-toc --chunk-size 64K", false, false));
}

TEST_F_TIMEOUT(nydus, gzip_ci_lz4, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "gzip",
				 "--compressor gzip --ci-compressor lz4_block", false, false));
}

TEST_F_TIMEOUT(nydus, crc32_v2, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "crc", "--crc32 --chunk-size 256K",
				 false, false));
}

TEST_F_TIMEOUT(nydus, batch_chunks, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "batch",
				 "--batch-size 64K --chunk-size 256K", false, false));
}

TEST_F_TIMEOUT(nydus, separate_meta_blob, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "separate",
				 "--separate --chunk-size 256K", false, true));
}

/* An OCI .tar.gz layer served in place: chunks inflated from checkpoints. */
TEST_F_TIMEOUT(nydus, zran_from_targz, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "zran", "--zran --chunk-size 256K",
				 false, false));
}

TEST_F_TIMEOUT(nydus, two_layers_validated, 120)
{
	EXPECT_EQ(0, check_image(_metadata, self, "layers", "--chunk-size 512K",
				 true, true));
}

/* Build an image, then open its first blob after @damage to the blob file. */
static int open_damaged(FIXTURE_DATA(nydus) *self, const char *name,
			const char *opts, const char *damage, bool validate,
			int *fill_ret, uint64_t *mismatches)
{
	char out[PATH_MAX], boot[PATH_MAX], blobs[PATH_MAX], err[512];
	struct fscached_config *cfg = NULL;
	struct bootstrap_info bi;
	struct blob_info info = { .domain = "d" };
	struct blob_cache *bc = NULL;
	struct io_buf buf;
	uint64_t off;
	int ret, fd;

	snprintf(out, sizeof(out), "%s/%s", self->dir, name);
	if (run("tools/mkrafs %s %s %s/layer1 >/dev/null 2>&1", opts, out, self->dir))
		return -1;
	snprintf(boot, sizeof(boot), "%s/image.boot", out);
	snprintf(blobs, sizeof(blobs), "%s/blobs", out);
	if (bootstrap_read(boot, validate, &bi, err, sizeof(err)))
		return -1;
	if (run("cd %s && f=$(ls | head -1) && %s", blobs, damage))
		return -1;
	ret = config_new_localfs("c", blobs, "fscache", &cfg, err, sizeof(err));
	if (ret)
		goto out;
	cfg->validate = validate;
	snprintf(out + strlen(out), sizeof(out) - strlen(out), "/cache");
	fd = open_cache_file(out);
	info.cache_fd = fd;
	info.id = bi.rafs[0].id;
	info.rafs = &bi.rafs[0];
	info.chunk_digests = bi.digests ? bi.digests[0] : NULL;
	info.nr_chunk_digests = bi.digests ? bi.nr_digests[0] : 0;
	ret = factory_new_blob_cache(&self->f, cfg, &info, &bc);
	close(fd);
	if (ret)
		goto out;
	io_buf_init(&buf, 65536);
	*fill_ret = 0;
	for (off = 0; off < bc->size && !*fill_ret; off += 65536)
		*fill_ret = blob_cache_fill(bc, off, 65536, &buf, 0);
	*mismatches = counter_read(&bc->stats.digest_mismatches);
	io_buf_release(&buf);
	blob_cache_put(bc);
out:
	config_free(cfg);
	bootstrap_info_free(&bi);
	return ret;
}

/* A byte of the first chunk's stored data, flipped. */
#define FLIP_BYTE "printf '\\x5a' | dd of=$f bs=1 seek=200 conv=notrunc status=none"

TEST_F_TIMEOUT(nydus, corrupt_chunk_fails_its_digest, 120)
{
	uint64_t mismatches = 0;
	int fill_ret = 0;

	ASSERT_EQ(0, open_damaged(self, "bad-blake3", "--compressor none",
				  FLIP_BYTE, true, &fill_ret, &mismatches));
	EXPECT_EQ(-EIO, fill_ret);
	EXPECT_EQ(1, mismatches);
}

TEST_F_TIMEOUT(nydus, corrupt_chunk_fails_its_crc, 120)
{
	uint64_t mismatches = 0;
	int fill_ret = 0;

	ASSERT_EQ(0, open_damaged(self, "bad-crc", "--compressor none --crc32",
				  FLIP_BYTE, false, &fill_ret, &mismatches));
	EXPECT_EQ(-EIO, fill_ret);
	EXPECT_EQ(1, mismatches);
}

TEST_F_TIMEOUT(nydus, bad_toc_fails_a_validated_open, 120)
{
	uint64_t mismatches = 0;
	int fill_ret = 0;

	/* A byte of the ToC's own tar header (its last 512 bytes). */
	EXPECT_EQ(-EINVAL, open_damaged(self, "bad-toc", "",
					"s=$(stat -c %s $f) && printf 'Z' | dd of=$f bs=1 seek=$((s - 400)) conv=notrunc status=none",
					true, &fill_ret, &mismatches));
}

TEST_F_TIMEOUT(nydus, truncated_blob_fails_at_open, 120)
{
	uint64_t mismatches = 0;
	int fill_ret = 0;

	EXPECT_EQ(-EINVAL, open_damaged(self, "short", "", "truncate -s 5000 $f",
					false, &fill_ret, &mismatches));
}

TEST_F_TIMEOUT(nydus, garbage_meta_fails_at_open, 120)
{
	uint64_t mismatches = 0;
	int fill_ret = 0;

	/* The header's magic sits 4 KiB before the blob.meta tar header... */
	EXPECT_EQ(-EINVAL, open_damaged(self, "garbage", "--no-toc",
					"s=$(stat -c %s $f) && head -c 4096 /dev/urandom | dd of=$f bs=1 seek=$((s - 4096)) conv=notrunc status=none",
					false, &fill_ret, &mismatches));
}

/*
 * Build an image of @layer (under the fixture's dir) with tools/mkrafs
 * @opts and read its prefetch table: the bytes its ranges cover, each
 * range checked (aligned, inside the blob, sorted, apart); 0 on failure.
 */
static uint64_t prefetch_bytes(struct __test_metadata *_metadata,
			       FIXTURE_DATA(nydus) *self, const char *opts,
			       const char *layer)
{
	char out[PATH_MAX], boot[PATH_MAX], err[512];
	const struct blob_range *r;
	struct bootstrap_info bi;
	uint64_t total = 0;
	unsigned int i;

	snprintf(out, sizeof(out), "%s/pf-%s", self->dir, layer);
	if (run("tools/mkrafs --chunk-size 256K %s %s %s/%s >/dev/null 2>&1",
		opts, out, self->dir, layer))
		return 0;
	snprintf(boot, sizeof(boot), "%s/image.boot", out);
	if (bootstrap_read(boot, false, &bi, err, sizeof(err))) {
		TH_LOG("%s: %s", layer, err);
		return 0;
	}
	EXPECT_NE(NULL, bi.prefetch);
	for (i = 0; bi.prefetch && i < bi.nr_prefetch[0]; i++) {
		r = &bi.prefetch[0][i];
		EXPECT_EQ(0, r->off % 4096);
		EXPECT_LE(r->off + r->len, bi.rafs[0].uncompressed_size);
		if (i)
			EXPECT_GT(r->off, r[-1].off + r[-1].len);
		total += r->len;
	}
	bootstrap_info_free(&bi);
	return total;
}

/* The files and directories the image names for prefetch become ranges of their blob. */
TEST_F_TIMEOUT(nydus, prefetch_table_names_file_ranges, 120)
{
	uint64_t total, want;
	unsigned int i;

	total = prefetch_bytes(_metadata, self,
			       "--prefetch /random --prefetch /sub/small-3 --prefetch /sub",
			       "layer1");
	ASSERT_GT(total, 0);
	/*
	 * /random (1300001 bytes), and /sub read for what it holds, as nydusd
	 * does: its 40 small files (100 + i * 997 bytes), small-3 once.
	 */
	want = ALIGN_UP(1300001ULL, 4096);
	for (i = 0; i < 40; i++)
		want += ALIGN_UP(100ULL + i * 997, 4096);
	EXPECT_EQ(want, total);
}

/*
 * A named directory is read whole, block by block and down its
 * subdirectories: 600 files in one directory take several directory
 * blocks (the last one inline in the inode's block, or not).
 */
TEST_F_TIMEOUT(nydus, prefetch_table_walks_directories_down, 120)
{
	char path[PATH_MAX];
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pfw", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/pfw/wide", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/pfw/wide/deeper", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	for (i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "%s/pfw/wide/%sfile-with-a-long-name-%u",
			 self->dir, i % 10 ? "" : "deeper/", i);
		f = fopen(path, "w");
		ASSERT_NE(NULL, f);
		fprintf(f, "file %u\n", i);
		fclose(f);
	}
	/* Not named, not prefetched. */
	snprintf(path, sizeof(path), "%s/pfw/other", self->dir);
	write_file(path, 100000, 7, false);
	/* Each file's one chunk starts a block of its own. */
	EXPECT_EQ(600ULL * 4096, prefetch_bytes(_metadata, self, "--prefetch /wide", "pfw"));
}

TEST_HARNESS_MAIN
