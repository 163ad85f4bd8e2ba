// SPDX-License-Identifier: GPL-2.0
/*
 * The file cache manager fills a cache file the way the kernel needs it:
 * block-aligned O_DIRECT writes, a zero-padded tail, and no data for a range
 * the backend cannot supply.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache/cache_int.h"
#include "cache/fill_group.h"
#include "cache/prefetch.h"
#include "lib/workqueue.h"
#include <time.h>
#include "config/config.h"
#include "cache/factory.h"
#include "harness.h"
#include "backend/backend.h"
#include <pthread.h>

#define BLOB_SIZE	(3 * 1048576 + 1000)

static unsigned char blob_byte(size_t i)
{
	return (unsigned char)((i * 13) ^ (i >> 12));
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fwrite(data, len, 1, f) == 1 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

FIXTURE(cachefile) {
	char dir[64];
	char cache_path[PATH_MAX];
	int cache_fd;
	struct factory f;
	struct fscached_config *cfg;
	struct blob_cache *bc;
	struct io_buf buf;
};

FIXTURE_SETUP(cachefile)
{
	struct blob_info info = { .id = "blob", .domain = "d" };
	char err[CONFIG_ERR_MAX], path[PATH_MAX];
	unsigned char *data;
	size_t i;
	FILE *f;

	strcpy(self->dir, "/var/tmp/fscached-fill-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(path, sizeof(path), "%s/blob", self->dir);
	data = malloc(BLOB_SIZE);
	for (i = 0; i < BLOB_SIZE; i++)
		data[i] = blob_byte(i);
	f = fopen(path, "w");
	ASSERT_EQ(1, fwrite(data, BLOB_SIZE, 1, f));
	fclose(f);
	free(data);

	/* The kernel's cache file is written with O_DIRECT: so is ours. */
	snprintf(self->cache_path, sizeof(self->cache_path), "%s/cache",
		 self->dir);
	self->cache_fd = open(self->cache_path,
			      O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (self->cache_fd < 0 && errno == EINVAL)
		self->cache_fd = open(self->cache_path,
				      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_GE(self->cache_fd, 0);
	info.cache_fd = self->cache_fd;
	ASSERT_EQ(0, factory_init(&self->f));
	ASSERT_EQ(0, config_new_localfs("c", self->dir, "fscache", &self->cfg,
					err, sizeof(err)));
	ASSERT_EQ(0, factory_new_blob_cache(&self->f, self->cfg, &info,
					    &self->bc));
	/* A small buffer, so that fills span several backend reads. */
	ASSERT_EQ(0, io_buf_init(&self->buf, 64 * 1024));
}

FIXTURE_TEARDOWN(cachefile)
{
	char cmd[128];

	if (self->bc)
		blob_cache_put(self->bc);
	factory_destroy(&self->f);
	config_free(self->cfg);
	io_buf_release(&self->buf);
	close(self->cache_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		return;
}

static int check_range(const char *path, size_t off, size_t len)
{
	unsigned char *got = malloc(len);
	size_t i;
	int fd = open(path, O_RDONLY), ret = 0;

	if (fd < 0 || pread(fd, got, len, off) != (ssize_t)len)
		ret = -1;
	for (i = 0; !ret && i < len; i++)
		if (got[i] != (off + i < BLOB_SIZE ? blob_byte(off + i) : 0))
			ret = -1;
	close(fd);
	free(got);
	return ret;
}

TEST_F(cachefile, aligned_range_is_written_exactly)
{
	struct stat st;

	ASSERT_EQ(0, blob_cache_fill(self->bc, 1048576, 262144, &self->buf, 0));
	EXPECT_EQ(0, check_range(self->cache_path, 1048576, 262144));
	ASSERT_EQ(0, fstat(self->cache_fd, &st));
	EXPECT_EQ(1048576 + 262144, st.st_size);
	EXPECT_EQ(1, self->bc->stats.fills);
	EXPECT_EQ(262144, self->bc->stats.fill_bytes);
}

TEST_F(cachefile, unaligned_range_is_widened_to_blocks)
{
	ASSERT_EQ(0, blob_cache_fill(self->bc, 5000, 100, &self->buf, 0));
	EXPECT_EQ(0, check_range(self->cache_path, 4096, 4096));
}

TEST_F(cachefile, tail_block_is_zero_padded)
{
	struct stat st;
	size_t tail = BLOB_SIZE & ~4095UL;

	ASSERT_EQ(0, blob_cache_fill(self->bc, tail, 4096, &self->buf, 0));
	ASSERT_EQ(0, fstat(self->cache_fd, &st));
	EXPECT_EQ(tail + 4096, st.st_size);
	/* The padding reads back as zeros (check_range expects that). */
	EXPECT_EQ(0, check_range(self->cache_path, tail, 4096));
}

/* Whether every byte of @buf is still @c. */
static bool buf_untouched(const struct io_buf *buf, unsigned char c)
{
	size_t i;

	for (i = 0; i < buf->size; i++)
		if (((const unsigned char *)buf->data)[i] != c)
			return false;
	return true;
}

TEST_F(cachefile, a_local_blob_goes_into_the_cache_file_without_the_buffer)
{
	/* The first read, of the superblock, goes through the buffer... */
	memset(self->buf.data, 0xa5, self->buf.size);
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, 4096, &self->buf, 0));
	EXPECT_FALSE(buf_untouched(&self->buf, 0xa5));
	EXPECT_EQ(0, check_range(self->cache_path, 0, 4096));
	/* ...for blob_cache_inspect(). The kernel copies the rest. */
	memset(self->buf.data, 0xa5, self->buf.size);
	ASSERT_EQ(0, blob_cache_fill(self->bc, 1048576, 262144, &self->buf, 0));
	EXPECT_EQ(0, check_range(self->cache_path, 1048576, 262144));
	EXPECT_TRUE(buf_untouched(&self->buf, 0xa5));
	EXPECT_FALSE(self->bc->copy_refused);
	EXPECT_EQ(4096 + 262144, self->bc->bblob->backend->stats.read_bytes);
	/* A partial last block is read, to be zero padded. */
	ASSERT_EQ(0, blob_cache_fill(self->bc, BLOB_SIZE - 100, 100, &self->buf, 0));
	EXPECT_FALSE(buf_untouched(&self->buf, 0xa5));
	EXPECT_EQ(0, check_range(self->cache_path, BLOB_SIZE & ~4095UL, 4096));
}

TEST_F(cachefile, whole_blob_in_one_request)
{
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, BLOB_SIZE, &self->buf, 0));
	EXPECT_EQ(0, check_range(self->cache_path, 0, BLOB_SIZE));
}

TEST_F(cachefile, ranges_past_the_end_are_errors)
{
	EXPECT_EQ(-EINVAL, blob_cache_fill(self->bc, BLOB_SIZE + 4096, 4096,
					   &self->buf, 0));
	EXPECT_EQ(-EINVAL, blob_cache_fill(self->bc, 0, 0, &self->buf, 0));
	/* Overlapping the end: clamped to the blob. */
	EXPECT_EQ(0, blob_cache_fill(self->bc, BLOB_SIZE - 10, 1 << 20,
				     &self->buf, 0));
	EXPECT_EQ(2, self->bc->stats.errors);
}

TEST_F(cachefile, backend_failure_writes_nothing)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/blob", self->dir);
	ASSERT_EQ(0, truncate(path, 4096));
	EXPECT_EQ(-EIO, blob_cache_fill(self->bc, 1048576, 65536, &self->buf, 0));
	ASSERT_EQ(0, fstat(self->cache_fd, &st));
	EXPECT_EQ(0, st.st_size);
}

TEST_F(cachefile, what_is_present_is_not_fetched_again)
{
	uint64_t reads;

	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, 262144, &self->buf, 0));
	reads = self->bc->bblob->backend->stats.reads;
	EXPECT_GT(reads, 0);
	/* Again, and a range around it: only the new part is fetched. */
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, 262144, &self->buf, 0));
	EXPECT_EQ(reads, self->bc->bblob->backend->stats.reads);
	EXPECT_EQ(262144, self->bc->stats.present_bytes);
	ASSERT_EQ(0, blob_cache_fill(self->bc, 131072, 262144, &self->buf, 0));
	EXPECT_EQ(131072, self->bc->bblob->backend->stats.read_bytes - 262144);
	EXPECT_EQ(0, check_range(self->cache_path, 0, 393216));
}

TEST_F(cachefile, a_range_a_fill_holds_is_not_present)
{
	EXPECT_FALSE(blob_cache_present(self->bc, 0, 65536));
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, 262144, &self->buf, 0));
	EXPECT_TRUE(blob_cache_present(self->bc, 0, 262144));
	EXPECT_FALSE(blob_cache_present(self->bc, 0, 262144 + 4096));
	/* Until a fill that holds it ends, its blocks may not be data yet. */
	range_lock_acquire(&self->bc->inflight, 131072, 135168);
	EXPECT_FALSE(blob_cache_present(self->bc, 0, 262144));
	EXPECT_TRUE(blob_cache_present(self->bc, 0, 131072));
	range_lock_release(&self->bc->inflight, 131072, 135168);
	EXPECT_TRUE(blob_cache_present(self->bc, 0, 262144));
}

/* A second blob cache of the same blob, with its own cache file. */
static struct blob_cache *open_with_unit(FIXTURE_DATA(cachefile) *self,
					 const char *domain, uint64_t unit,
					 int *fd, char *path, size_t size)
{
	struct blob_info info = { .id = "blob", .domain = domain,
				  .fetch_unit = unit };
	struct blob_cache *bc = NULL;

	snprintf(path, size, "%s/cache-%s", self->dir, domain);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return NULL;
	info.cache_fd = *fd;
	if (factory_new_blob_cache(&self->f, self->cfg, &info, &bc))
		return NULL;
	return bc;
}

TEST_F(cachefile, fetch_unit_widens_fills_once_the_blob_is_known)
{
	char path[PATH_MAX];
	struct blob_cache *bc;
	uint64_t before;
	int fd;

	bc = open_with_unit(self, "w", 1048576, &fd, path, sizeof(path));
	ASSERT_NE(NULL, bc);
	/* The read that holds the superblock is filled as asked... */
	ASSERT_EQ(0, blob_cache_fill(bc, 0, 4096, &self->buf, 0));
	EXPECT_EQ(4096, bc->bblob->backend->stats.read_bytes);
	EXPECT_EQ(BLOB_FORMAT_PLAIN, bc->format);
	/* ...and then a 4 KiB read brings its whole aligned MiB. */
	before = bc->bblob->backend->stats.read_bytes;
	ASSERT_EQ(0, blob_cache_fill(bc, 2097152 + 8192, 4096, &self->buf, 0));
	EXPECT_EQ(1048576, bc->bblob->backend->stats.read_bytes - before);
	EXPECT_EQ(0, check_range(path, 2097152, 1048576));
	/* Never past the end of the blob. */
	ASSERT_EQ(0, blob_cache_fill(bc, BLOB_SIZE - 100, 100, &self->buf, 0));
	EXPECT_EQ(0, check_range(path, 3 * 1048576, BLOB_SIZE - 3 * 1048576));
	blob_cache_put(bc);
	close(fd);
}

TEST_F(cachefile, data_blob_first_read_elsewhere_is_widened_at_once)
{
	char path[PATH_MAX];
	struct blob_cache *bc;
	int fd;

	bc = open_with_unit(self, "d", 262144, &fd, path, sizeof(path));
	ASSERT_NE(NULL, bc);
	ASSERT_EQ(0, blob_cache_fill(bc, 300000, 4096, &self->buf, 0));
	EXPECT_EQ(262144, bc->bblob->backend->stats.read_bytes);
	EXPECT_EQ(0, check_range(path, 262144, 262144));
	blob_cache_put(bc);
	close(fd);
}

TEST_F(cachefile, compressed_erofs_image_is_filled_exactly)
{
	/* mkfs.erofs -zlz4hc: magic, 4 KiB blocks, zero padding, lz4 */
	static const unsigned char sb[] = { 0xe2, 0xe1, 0xf5, 0xe0 };
	unsigned char block[128] = { 0 };
	char path[PATH_MAX], blob[PATH_MAX];
	struct blob_cache *bc;
	uint64_t before, ra_off, ra_len;
	int fd, bfd;

	memcpy(block, sb, sizeof(sb));
	block[12] = 12;
	block[80] = 0x01;
	block[84] = 0xff;
	block[85] = 0xff;
	snprintf(blob, sizeof(blob), "%s/blob", self->dir);
	bfd = open(blob, O_WRONLY);
	ASSERT_GE(bfd, 0);
	ASSERT_EQ(sizeof(block), pwrite(bfd, block, sizeof(block), 1024));
	close(bfd);

	bc = open_with_unit(self, "z", 1048576, &fd, path, sizeof(path));
	ASSERT_NE(NULL, bc);
	ASSERT_EQ(0, blob_cache_fill(bc, 0, 4096, &self->buf, 0));
	EXPECT_EQ(BLOB_FORMAT_COMPRESSED, bc->format);
	before = bc->bblob->backend->stats.read_bytes;
	ASSERT_EQ(0, blob_cache_fill(bc, 2097152 + 8192, 4096, &self->buf, 0));
	EXPECT_EQ(4096, bc->bblob->backend->stats.read_bytes - before);
	/* Nothing is read ahead of a sequential reader either. */
	EXPECT_FALSE(blob_cache_readahead(bc, 4096, 4096, 4 << 20, &ra_off,
					  &ra_len));
	blob_cache_put(bc);
	close(fd);
}

/* A blob cache whose configuration prefetches, and a pool to run it. */
static struct blob_cache *open_prefetching(FIXTURE_DATA(cachefile) *self,
					   const char *id, uint64_t limit,
					   struct fscached_config **cfg,
					   int *fd, char *path, size_t size)
{
	struct blob_info info = { .id = "blob", .domain = id };
	char err[CONFIG_ERR_MAX];
	struct blob_cache *bc = NULL;

	if (config_new_localfs(id, self->dir, "fscache", cfg, err, sizeof(err)))
		return NULL;
	(*cfg)->prefetch.enable = true;
	(*cfg)->prefetch.threads = 3;
	(*cfg)->prefetch.batch_size = 1048576;
	(*cfg)->prefetch.bandwidth_limit = limit;
	snprintf(path, size, "%s/cache-%s", self->dir, id);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return NULL;
	info.cache_fd = *fd;
	if (factory_new_blob_cache(&self->f, *cfg, &info, &bc))
		return NULL;
	return bc;
}

TEST_F(cachefile, prefetch_fills_the_whole_blob_once)
{
	struct fscached_config *cfg;
	char path[PATH_MAX];
	struct workqueue wq;
	struct blob_cache *bc;
	int fd;

	bc = open_prefetching(self, "pf", 0, &cfg, &fd, path, sizeof(path));
	ASSERT_NE(NULL, bc);
	ASSERT_EQ(0, workqueue_init(&wq, 4, 1048576));
	/* Not before the first read has told what the blob is... */
	bc->format = BLOB_FORMAT_PLAIN;
	ASSERT_TRUE(prefetch_maybe_start(bc, &wq));
	/* ...and only once. */
	EXPECT_FALSE(prefetch_maybe_start(bc, &wq));
	workqueue_drain(&wq);
	EXPECT_EQ(0, check_range(path, 0, BLOB_SIZE));
	EXPECT_EQ(BLOB_SIZE, bc->bblob->backend->stats.read_bytes);
	EXPECT_EQ(4, bc->stats.prefetch_fills);
	EXPECT_EQ(0, bc->stats.prefetch_errors);
	workqueue_destroy(&wq);
	blob_cache_put(bc);
	config_free(cfg);
	close(fd);
}

TEST_F(cachefile, prefetch_keeps_to_its_bandwidth_and_stops)
{
	struct timespec t0, t1;
	struct fscached_config *cfg;
	char path[PATH_MAX];
	struct workqueue wq;
	struct blob_cache *bc;
	long ms;
	int fd;

	/*
	 * 4 MiB/s over 3 MiB and 1000 bytes, claimed from the end: 1000 bytes,
	 * then three 1 MiB pieces. A piece starts once the bytes claimed
	 * before it fit the budget, so the last one starts 0.5 s in.
	 */
	bc = open_prefetching(self, "paced", 4 << 20, &cfg, &fd, path,
			      sizeof(path));
	ASSERT_NE(NULL, bc);
	ASSERT_EQ(0, workqueue_init(&wq, 4, 1048576));
	bc->format = BLOB_FORMAT_PLAIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_TRUE(prefetch_maybe_start(bc, &wq));
	workqueue_drain(&wq);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	TH_LOG("3 MiB prefetched at 4 MiB/s in %ld ms", ms);
	EXPECT_GE(ms, 500);
	EXPECT_EQ(0, check_range(path, 0, BLOB_SIZE));
	workqueue_destroy(&wq);
	blob_cache_put(bc);
	config_free(cfg);
	close(fd);

	/*
	 * Stopped (the kernel closed the blob): at 1000 bytes/s only the
	 * first 1000-byte piece may start before the next is 1000 s away,
	 * so the stop must also cut the paced workers' wait short.
	 */
	bc = open_prefetching(self, "stopped", 1000, &cfg, &fd, path,
			      sizeof(path));
	ASSERT_NE(NULL, bc);
	ASSERT_EQ(0, workqueue_init(&wq, 4, 1048576));
	bc->format = BLOB_FORMAT_PLAIN;
	ASSERT_TRUE(prefetch_maybe_start(bc, &wq));
	prefetch_stop(bc);
	workqueue_drain(&wq);
	EXPECT_LE(bc->stats.prefetch_fills, 1);
	workqueue_destroy(&wq);
	blob_cache_put(bc);
	config_free(cfg);
	close(fd);
}

struct filler {
	struct blob_cache *bc;
	uint64_t off, len;
	int ret;
};

static void *fill_thread(void *arg)
{
	struct filler *f = arg;
	struct io_buf buf;

	if (io_buf_init(&buf, 65536)) {
		f->ret = -ENOMEM;
		return NULL;
	}
	f->ret = blob_cache_fill(f->bc, f->off, f->len, &buf, FILL_READAHEAD);
	io_buf_release(&buf);
	return NULL;
}

TEST_F(cachefile, overlapping_fills_fetch_each_byte_once)
{
	struct filler f[8];
	pthread_t t[8];
	int i;

	/* Eight threads, overlapping ranges of the first 2 MiB. */
	for (i = 0; i < 8; i++) {
		f[i] = (struct filler){ self->bc, (uint64_t)i * 131072, 1048576, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fill_thread, &f[i]));
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, f[i].ret);
	}
	EXPECT_EQ(0, check_range(self->cache_path, 0, 7 * 131072 + 1048576));
	EXPECT_EQ(7 * 131072 + 1048576, self->bc->bblob->backend->stats.read_bytes);
	EXPECT_EQ(8, self->bc->stats.readahead_fills);
}

struct group_helper {
	struct fill_group *g;
	struct io_buf buf;
	struct fill_counts done;
};

static void *group_help_thread(void *arg)
{
	struct group_helper *h = arg;

	h->done = fill_group_run(h->g, &h->buf);
	fill_group_put(h->g);
	return NULL;
}

TEST_F(cachefile, fill_group_pieces_are_shared_and_each_fetched_once)
{
	struct group_helper h[3];
	struct fill_counts c;
	struct fill_group *g;
	pthread_t t[3];
	int i;

	/* A window of 40 pieces of 64 KiB: this thread and three helpers. */
	g = fill_group_create(self->bc, 65536, 40 * 65536, 65536);
	ASSERT_NE(NULL, g);
	EXPECT_EQ(40, fill_group_pieces(g));
	for (i = 0; i < 3; i++) {
		h[i].g = g;
		ASSERT_EQ(0, io_buf_init(&h[i].buf, 65536));
		fill_group_get(g);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, group_help_thread, &h[i]));
	}
	c = fill_group_run(g, &self->buf);
	fill_group_put(g);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		io_buf_release(&h[i].buf);
		c.filled += h[i].done.filled;
		c.failed += h[i].done.failed;
	}
	/* Every piece once, whoever claimed it. */
	EXPECT_EQ(0, check_range(self->cache_path, 65536, 40 * 65536));
	EXPECT_EQ(40, c.filled);
	EXPECT_EQ(0, c.failed);
	EXPECT_EQ(40 * 65536, self->bc->bblob->backend->stats.read_bytes);
}

TEST_F(cachefile, no_read_ahead_over_what_is_present)
{
	unsigned int shares;
	struct fill_group *g;

	/* Nothing there yet: a reader at the start gets a window. */
	g = fill_group_readahead(self->bc, 0, 65536, 1 << 20, 4, 65536, &shares);
	ASSERT_NE(NULL, g);
	fill_group_put(g);
	ASSERT_EQ(0, blob_cache_fill(self->bc, 0, BLOB_SIZE, &self->buf, 0));
	/* A remount's reader, a new stream: all of it is there already. */
	readahead_destroy(&self->bc->ra);
	readahead_init(&self->bc->ra);
	EXPECT_EQ(NULL, fill_group_readahead(self->bc, 0, 65536, 1 << 20, 4,
					     65536, &shares));
}

TEST_F(cachefile, fill_group_run_takes_every_piece_left)
{
	struct fill_counts c;
	struct fill_group *g;

	/* Helpers that never run (a busy pool) leave their pieces to us. */
	g = fill_group_create(self->bc, 0, 4 * 65536, 65536);
	ASSERT_NE(NULL, g);
	fill_group_get(g);	/* a helper's reference, never used */
	c = fill_group_run(g, &self->buf);
	EXPECT_EQ(4, c.filled);
	EXPECT_EQ(0, fill_group_run(g, &self->buf).filled);
	fill_group_put(g);
	fill_group_put(g);
	/* A piece past the end of the blob fails and is counted. */
	g = fill_group_create(self->bc, BLOB_SIZE - 1000, 8192 + 65536, 8192);
	ASSERT_NE(NULL, g);
	c = fill_group_run(g, &self->buf);
	EXPECT_EQ(1, c.filled);
	EXPECT_EQ(8, c.failed);
	fill_group_put(g);
	EXPECT_EQ(NULL, fill_group_create(self->bc, 0, 0, 65536));
}

TEST(readahead_follows_a_sequential_reader)
{
	struct readahead ra;
	uint64_t off, len;
	const uint64_t m = 1 << 20, w = 16 * m, size = 64 * m, r = 262144;

	readahead_init(&ra);
	/* First read at 0: a stream; a first window of 1 MiB after it. */
	ASSERT_TRUE(readahead_plan(&ra, 0, r, size, w, &off, &len));
	EXPECT_EQ(r, off);
	EXPECT_EQ(m, len);
	/* The reader goes on inside what we fetch: nothing new yet. */
	EXPECT_FALSE(readahead_plan(&ra, r, r, size, w, &off, &len));
	/* It reaches the first hole after the window: twice as much. */
	ASSERT_TRUE(readahead_plan(&ra, r + m, r, size, w, &off, &len));
	EXPECT_EQ(2 * r + m, off);
	EXPECT_EQ(2 * m, len);
	/* And so on, up to the maximum window. */
	ASSERT_TRUE(readahead_plan(&ra, off + len, r, size, w, &off, &len));
	EXPECT_EQ(4 * m, len);
	ASSERT_TRUE(readahead_plan(&ra, off + len, r, size, w, &off, &len));
	EXPECT_EQ(8 * m, len);
	ASSERT_TRUE(readahead_plan(&ra, off + len, r, size, w, &off, &len));
	EXPECT_EQ(w, len);
	ASSERT_TRUE(readahead_plan(&ra, off + len, r, size, w, &off, &len));
	EXPECT_EQ(w, len);
	/* A jump elsewhere is a new stream: nothing ahead of it yet... */
	EXPECT_FALSE(readahead_plan(&ra, 50 * m, 4096, size, w, &off, &len));
	/* ...until it goes on, with a small window again. */
	ASSERT_TRUE(readahead_plan(&ra, 50 * m + 4096, 4096, size, w, &off, &len));
	EXPECT_EQ(50 * m + 8192, off);
	EXPECT_EQ(m, len);
	readahead_destroy(&ra);

	/* Never past the end of the blob, never with a zero window. */
	readahead_init(&ra);
	ASSERT_TRUE(readahead_plan(&ra, 0, 4096, 65536, w, &off, &len));
	EXPECT_EQ(4096, off);
	EXPECT_EQ(65536 - 4096, len);
	EXPECT_FALSE(readahead_plan(&ra, 4096, 4096, 65536, w, &off, &len));
	EXPECT_FALSE(readahead_plan(&ra, 0, 4096, size, 0, &off, &len));
	readahead_destroy(&ra);
}

/*
 * fanotify sees every read, present or not: the rest of a fetch unit and
 * of a window are the same stream, and its next window starts while the
 * reader is still inside the last one.
 */
TEST(readahead_follows_a_reader_through_what_is_present)
{
	struct readahead ra;
	uint64_t off, len;
	const uint64_t m = 1 << 20, w = 16 * m, size = 64 * m, r = 262144;

	readahead_init(&ra);
	/* A demand read widened to its 1 MiB fetch unit: 4 MiB ahead. */
	ASSERT_TRUE(readahead_plan(&ra, 0, m, size, w, &off, &len));
	EXPECT_EQ(m, off);
	EXPECT_EQ(4 * m, len);
	/* Inside that unit, then inside the window: one stream, no plan. */
	EXPECT_FALSE(readahead_plan(&ra, 65536, 65536, size, w, &off, &len));
	EXPECT_FALSE(readahead_plan(&ra, 2 * m, r, size, w, &off, &len));
	/* Half a window from its end: the next, twice as big, at its end. */
	ASSERT_TRUE(readahead_plan(&ra, 3 * m + r, r, size, w, &off, &len));
	EXPECT_EQ(5 * m, off);
	EXPECT_EQ(6 * m + 2 * r, len);
	/* A read behind the last one is another stream. */
	EXPECT_FALSE(readahead_plan(&ra, m, r, size, w, &off, &len));
	EXPECT_FALSE(readahead_plan(&ra, 6 * m, r, size, w, &off, &len));
	readahead_destroy(&ra);
}

/*
 * A write that finds no room leaves a hole, never blocks that count as data
 * (run on 6.18: ext4 kept 652 KiB of a 1 MiB write that failed for space,
 * reading as zeros, and SEEK_HOLE called them data). On a small ext4 of
 * its own with about 256 KiB free; needs root, for its loop mount.
 */
#define FULL_WRITE	(2U << 20)

/* Run @fmt, each %s of it @dir (at most four). */
static int run_in(const char *fmt, const char *dir)
{
	char cmd[PATH_MAX * 4];

	snprintf(cmd, sizeof(cmd), fmt, dir, dir, dir, dir);
	return system(cmd);
}

/*
 * copy_file_range() between two filesystems fails (EXDEV): the fill reads
 * and writes instead, and does not try again.
 */
TEST(a_cache_file_on_another_filesystem_is_read_and_written)
{
	struct blob_info info = { .id = "blob", .domain = "d" };
	char dir[] = "/var/tmp/fscached-xdev-XXXXXX", path[PATH_MAX];
	char cache[] = "/dev/shm/fscached-xdev-XXXXXX", err[CONFIG_ERR_MAX];
	struct fscached_config *cfg = NULL;
	struct blob_cache *bc = NULL;
	struct stat a, b;
	struct io_buf buf;
	struct factory f;
	unsigned char *data;
	int fd;
	size_t i;

	ASSERT_NE(NULL, mkdtemp(dir));
	fd = mkstemp(cache);
	if (fd < 0 || stat(dir, &a) || fstat(fd, &b) || a.st_dev == b.st_dev) {
		if (fd >= 0)
			unlink(cache);
		rmdir(dir);
		SKIP(return, "no /dev/shm on a filesystem of its own");
	}
	snprintf(path, sizeof(path), "%s/blob", dir);
	data = malloc(BLOB_SIZE);
	ASSERT_NE(NULL, data);
	for (i = 0; i < BLOB_SIZE; i++)
		data[i] = blob_byte(i);
	ASSERT_EQ(0, write_file(path, data, BLOB_SIZE));
	info.cache_fd = fd;
	ASSERT_EQ(0, factory_init(&f));
	ASSERT_EQ(0, config_new_localfs("c", dir, "fscache", &cfg, err, sizeof(err)));
	ASSERT_EQ(0, factory_new_blob_cache(&f, cfg, &info, &bc));
	ASSERT_EQ(0, io_buf_init(&buf, 65536));
	memset(buf.data, 0xa5, buf.size);

	ASSERT_EQ(0, blob_cache_fill(bc, 1048576, 262144, &buf, 0));
	EXPECT_TRUE(bc->copy_refused);
	EXPECT_FALSE(buf_untouched(&buf, 0xa5));
	ASSERT_EQ(262144, pread(fd, data, 262144, 1048576));
	for (i = 0; i < 262144; i++)
		if (data[i] != blob_byte(1048576 + i))
			break;
	EXPECT_EQ(262144, i);
	EXPECT_EQ(262144, bc->bblob->backend->stats.read_bytes);
	EXPECT_EQ(0, bc->bblob->backend->stats.read_errors);

	free(data);
	io_buf_release(&buf);
	blob_cache_put(bc);
	factory_destroy(&f);
	config_free(cfg);
	close(fd);
	unlink(cache);
	run_in("rm -rf %s", dir);
}

TEST(a_write_that_finds_no_room_leaves_a_hole)
{
	struct blob_info info = { .id = "blob", .domain = "d" };
	char dir[] = "/var/tmp/fscached-full-XXXXXX", path[PATH_MAX];
	char err[CONFIG_ERR_MAX];
	struct fscached_config *cfg = NULL;
	struct blob_cache *bc = NULL;
	struct factory f;
	struct statvfs sv;
	unsigned char *buf;
	off_t data;
	int fd, filler, ret;

	if (geteuid())
		SKIP(return, "needs root (a loop mount of a small ext4)");
	if (system("command -v mkfs.ext4 > /dev/null"))
		SKIP(return, "no mkfs.ext4 (e2fsprogs)");
	ASSERT_NE(NULL, mkdtemp(dir));
	if (run_in("mkdir %s/mnt && truncate -s 8M %s/img && mkfs.ext4 -q -F -O ^has_journal %s/img && mount -o loop %s/img %s/mnt 2> /dev/null",
		   dir)) {
		run_in("rm -rf %s", dir);
		SKIP(return, "cannot loop-mount an ext4 here");
	}
	/* The blob on the small filesystem too, so that a copy can be tried. */
	buf = malloc(FULL_WRITE);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5a, FULL_WRITE);
	snprintf(path, sizeof(path), "%s/mnt/blob", dir);
	ASSERT_EQ(0, write_file(path, buf, FULL_WRITE));
	/* Fill the small filesystem up to its last 256 KiB. */
	snprintf(path, sizeof(path), "%s/mnt/filler", dir);
	filler = open(path, O_WRONLY | O_CREAT, 0600);
	ASSERT_GE(filler, 0);
	ASSERT_EQ(0, fstatvfs(filler, &sv));
	ASSERT_EQ(0, posix_fallocate(filler, 0, (off_t)sv.f_bavail * sv.f_bsize -
				     (256 << 10)));
	close(filler);
	/* A sparse cache file of the blob's size, buffered, as fanotify's. */
	snprintf(path, sizeof(path), "%s/mnt/cache", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, FULL_WRITE));
	info.cache_fd = fd;
	ASSERT_EQ(0, factory_init(&f));
	snprintf(path, sizeof(path), "%s/mnt", dir);
	ASSERT_EQ(0, config_new_localfs("c", path, "fscache", &cfg, err, sizeof(err)));
	ASSERT_EQ(0, factory_new_blob_cache(&f, cfg, &info, &bc));

	ret = blob_cache_write(bc, buf, FULL_WRITE, 0);
	EXPECT_TRUE(ret == -ENOSPC || ret == -EDQUOT);
	/* Whatever reached the disk before the failure is gone again. */
	ASSERT_EQ(0, fdatasync(fd));
	data = lseek(fd, 0, SEEK_DATA);
	TH_LOG("write of %u KiB with 256 KiB free: %s; first data at %lld",
	       FULL_WRITE >> 10, strerror(-ret), (long long)data);
	EXPECT_TRUE(data < 0 && errno == ENXIO);
	EXPECT_FALSE(blob_cache_present(bc, 0, 4096));
	/* The same for a copy inside the kernel. */
	ASSERT_TRUE(blob_cache_may_copy(bc, 1 << 20, 1 << 20));
	ret = blob_cache_copy_in(bc, 0, FULL_WRITE);
	EXPECT_TRUE(ret == -ENOSPC || ret == -EDQUOT);
	ASSERT_EQ(0, fdatasync(fd));
	data = lseek(fd, 0, SEEK_DATA);
	TH_LOG("copy of %u KiB with 256 KiB free: %s; first data at %lld",
	       FULL_WRITE >> 10, strerror(-ret), (long long)data);
	EXPECT_TRUE(data < 0 && errno == ENXIO);
	EXPECT_FALSE(bc->copy_refused);
	free(buf);
	blob_cache_put(bc);
	factory_destroy(&f);
	config_free(cfg);
	close(fd);
	run_in("umount %s/mnt && rm -rf %s", dir);
}

TEST(fscache_needs_a_cache_file)
{
	struct blob_info info = { .id = "x", .domain = "d", .cache_fd = -1 };
	char err[CONFIG_ERR_MAX], dir[] = "/tmp/fscached-nofd-XXXXXX", path[64];
	struct fscached_config *cfg;
	struct blob_cache *bc;
	struct factory f;
	FILE *fp;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x", dir);
	fp = fopen(path, "w");
	fclose(fp);
	ASSERT_EQ(0, factory_init(&f));
	ASSERT_EQ(0, config_new_localfs("c", dir, "fscache", &cfg, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, factory_new_blob_cache(&f, cfg, &info, &bc));
	factory_destroy(&f);
	config_free(cfg);
	unlink(path);
	rmdir(dir);
}

TEST_HARNESS_MAIN
