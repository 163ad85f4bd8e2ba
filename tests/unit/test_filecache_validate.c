// SPDX-License-Identifier: GPL-2.0
/*
 * cache.validate: a blob named by its sha256 reaches the cache file only
 * whole and checked; a backend with other bytes under that name gives
 * errors and leaves the cache file without data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"
#include "config/config.h"
#include "cache/factory.h"
#include "harness.h"
#include <json-c/json.h>

#define BLOB_SIZE	(2 * 1048576 + 5000)

static unsigned char blob_byte(size_t i)
{
	return (unsigned char)((i * 7) ^ (i >> 11));
}

FIXTURE(validate) {
	char dir[64];
	char id[65];
	char cache_path[PATH_MAX];
	int cache_fd;
	struct factory f;
	struct fscached_config *cfg;
	struct blob_cache *bc;
	struct io_buf buf;
};

/* The blob under its digest; @flip: one byte changed after hashing. */
static void write_blob(FIXTURE_DATA(validate) *self, size_t flip)
{
	unsigned char *data = malloc(BLOB_SIZE), md[32];
	char path[PATH_MAX];
	unsigned int i;
	FILE *f;

	for (i = 0; i < BLOB_SIZE; i++)
		data[i] = blob_byte(i);
	SHA256(data, BLOB_SIZE, md);
	for (i = 0; i < 32; i++)
		snprintf(self->id + 2 * i, 3, "%02x", md[i]);
	if (flip < BLOB_SIZE)
		data[flip] ^= 0x40;
	snprintf(path, sizeof(path), "%s/%s", self->dir, self->id);
	f = fopen(path, "w");
	if (f) {
		fwrite(data, BLOB_SIZE, 1, f);
		fclose(f);
	}
	free(data);
}

static int open_blob(FIXTURE_DATA(validate) *self, const char *id,
		     bool validate)
{
	struct blob_info info = { .id = id, .domain = "d",
				  .stage_dir = self->dir };
	char err[CONFIG_ERR_MAX];
	int ret;

	snprintf(self->cache_path, sizeof(self->cache_path), "%s/cache",
		 self->dir);
	self->cache_fd = open(self->cache_path,
			      O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (self->cache_fd < 0 && errno == EINVAL)
		self->cache_fd = open(self->cache_path,
				      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (self->cache_fd < 0)
		return -errno;
	info.cache_fd = self->cache_fd;
	ret = config_new_localfs("c", self->dir, "fscache", &self->cfg, err,
				 sizeof(err));
	if (ret)
		return ret;
	self->cfg->validate = validate;
	return factory_new_blob_cache(&self->f, self->cfg, &info, &self->bc);
}

static uint64_t counter(FIXTURE_DATA(validate) *self, const char *name)
{
	struct json_object *o, *v;
	uint64_t n = 0;

	factory_check(&self->f);
	o = factory_stats_json(&self->f);
	if (json_object_object_get_ex(o, "total", &v) &&
	    json_object_object_get_ex(v, name, &v))
		n = json_object_get_uint64(v);
	json_object_put(o);
	return n;
}

static bool cache_file_is_blob(const char *path)
{
	unsigned char *got = malloc(BLOB_SIZE);
	int fd = open(path, O_RDONLY);
	bool same;
	size_t i;

	same = fd >= 0 && pread(fd, got, BLOB_SIZE, 0) == BLOB_SIZE;
	for (i = 0; same && i < BLOB_SIZE; i++)
		same = got[i] == blob_byte(i);
	if (fd >= 0)
		close(fd);
	free(got);
	return same;
}

FIXTURE_SETUP(validate)
{
	strcpy(self->dir, "/var/tmp/fscached-verify-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->cache_fd = -1;
	ASSERT_EQ(0, factory_init(&self->f));
	ASSERT_EQ(0, io_buf_init(&self->buf, 64 * 1024));
}

FIXTURE_TEARDOWN(validate)
{
	char cmd[128];

	if (self->bc)
		blob_cache_put(self->bc);
	factory_destroy(&self->f);
	config_free(self->cfg);
	io_buf_release(&self->buf);
	if (self->cache_fd >= 0)
		close(self->cache_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		return;
}

TEST_F(validate, a_small_read_brings_the_whole_checked_blob)
{
	write_blob(self, SIZE_MAX);
	ASSERT_EQ(0, open_blob(self, self->id, true));
	ASSERT_EQ(0, blob_cache_fill(self->bc, 1048576, 4096, &self->buf, 0));
	EXPECT_TRUE(cache_file_is_blob(self->cache_path));
	EXPECT_EQ(1, counter(self, "verified"));
	EXPECT_EQ(BLOB_SIZE, counter(self, "verified_bytes"));
	EXPECT_EQ(0, counter(self, "digest_mismatches"));
	/* Present now: later fills read nothing more. */
	uint64_t reads = counter(self, "backend_reads");
	EXPECT_EQ(0, blob_cache_fill(self->bc, 0, 4096, &self->buf, 0));
	EXPECT_EQ(reads, counter(self, "backend_reads"));
}

TEST_F(validate, other_bytes_under_the_digest_never_reach_the_cache_file)
{
	struct stat st;
	uint64_t reads;

	write_blob(self, 1234567);
	ASSERT_EQ(0, open_blob(self, self->id, true));
	EXPECT_EQ(-EIO, blob_cache_fill(self->bc, 0, 4096, &self->buf, 0));
	EXPECT_EQ(1, counter(self, "digest_mismatches"));
	EXPECT_EQ(0, counter(self, "verified"));
	ASSERT_EQ(0, fstat(self->cache_fd, &st));
	EXPECT_EQ(0, st.st_blocks);
	EXPECT_EQ(0, st.st_size);
	/* Sticky for this open: no refetch per read. */
	reads = counter(self, "backend_reads");
	EXPECT_EQ(-EIO, blob_cache_fill(self->bc, 1048576, 4096, &self->buf, 0));
	EXPECT_EQ(reads, counter(self, "backend_reads"));
}

TEST_F(validate, a_blob_already_whole_in_the_cache_is_not_fetched_again)
{
	uint64_t reads;

	write_blob(self, SIZE_MAX);
	ASSERT_EQ(0, open_blob(self, self->id, true));
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, 4096, &self->buf, 0));
	blob_cache_put(self->bc);
	self->bc = NULL;
	factory_gc(&self->f);
	reads = counter(self, "backend_reads");
	close(self->cache_fd);
	config_free(self->cfg);
	self->cfg = NULL;
	/* Reopened over the same, whole cache file (a remount). */
	ASSERT_EQ(0, open_blob(self, self->id, true));
	EXPECT_EQ(0, blob_cache_fill(self->bc, 4096, 4096, &self->buf, 0));
	EXPECT_EQ(reads, counter(self, "backend_reads"));
}

TEST_F(validate, a_blob_without_a_digest_is_served_as_fetched)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/plain-name", self->dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("not named by its digest", f);
	fclose(f);
	ASSERT_EQ(0, open_blob(self, "plain-name", true));
	EXPECT_EQ(0, blob_cache_fill(self->bc, 0, 10, &self->buf, 0));
	EXPECT_EQ(0, counter(self, "verified"));
}

TEST_F(validate, off_leaves_a_digest_blob_lazy)
{
	struct stat st;

	write_blob(self, 1234567);
	ASSERT_EQ(0, open_blob(self, self->id, false));
	EXPECT_EQ(0, blob_cache_fill(self->bc, 0, 4096, &self->buf, 0));
	ASSERT_EQ(0, fstat(self->cache_fd, &st));
	EXPECT_EQ(4096, st.st_size);
}

TEST_HARNESS_MAIN
