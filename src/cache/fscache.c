// SPDX-License-Identifier: GPL-2.0
/*
 * The fscache manager: the local cache is the kernel's own cache file, handed
 * to us as an fd. Filling a range means reading it from the backend and
 * writing it into that file. The kernel opens the file with O_DIRECT, so
 * every write is block aligned, and a partial last block is zero padded.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cache.h"
#include "compiler.h"
#include "log.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fscache_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/* Fetch [pos, end) from the backend and write it, in buffer-sized pieces. */
static int fscache_fetch(struct blob_cache *bc, uint64_t pos, uint64_t end,
			 struct io_buf *buf)
{
	int ret;

	while (pos < end) {
		size_t want = MIN(end - pos, (uint64_t)buf->size);
		uint64_t t0, t1;
		size_t padded;
		ssize_t n;

		t0 = now_us();
		n = backend_blob_read(bc->bblob, buf->data, want, pos);
		t1 = now_us();
		counter_add(&bc->stats.fetch_us, t1 - t0);
		if (n < 0)
			return n;
		blob_cache_inspect(bc, pos, buf->data, n);
		padded = ALIGN_UP((size_t)n, CACHE_BLOCK_SIZE);
		if (padded != (size_t)n)
			memset((char *)buf->data + n, 0, padded - n);
		ret = fscache_write_all(bc->cache_fd, buf->data, padded, pos);
		counter_add(&bc->stats.write_us, now_us() - t1);
		if (ret) {
			log_debug("blob '%s': writing %zu bytes at %llu into the cache file failed: %s",
				  bc->id, padded, (unsigned long long)pos,
				  strerror(-ret));
			return ret;
		}
		pos += n;
	}
	return 0;
}

/*
 * The next hole of the cache file in [pos, end): what the kernel, an
 * earlier fill or a read-ahead already wrote is skipped. Without
 * SEEK_DATA support everything counts as a hole.
 */
static bool fscache_next_hole(int fd, uint64_t pos, uint64_t end,
			      uint64_t *hole, uint64_t *hole_end)
{
	off_t data, h;

	data = lseek(fd, pos, SEEK_DATA);
	if (data < 0 || (uint64_t)data > pos) {
		/* ENXIO: no data at or after pos. */
		*hole = pos;
		*hole_end = data < 0 ? end : MIN((uint64_t)data, end);
		return true;
	}
	h = lseek(fd, pos, SEEK_HOLE);
	if (h < 0 || (uint64_t)h >= end)
		return false;
	*hole = h;
	data = lseek(fd, h, SEEK_DATA);
	*hole_end = data < 0 ? end : MIN((uint64_t)data, end);
	return true;
}

static int fscache_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
			struct io_buf *buf, unsigned int flags)
{
	uint64_t start, pos, end, hole, hole_end, fetched = 0;
	int ret = 0;

	if (off >= bc->size || len == 0) {
		counter_add(&bc->stats.errors, 1);
		return -EINVAL;
	}
	len = MIN(len, bc->size - off);
	blob_cache_fill_bounds(bc, off, len, &start, &end);

	range_lock_acquire(&bc->inflight, start, end);
	pos = start;
	while (!ret && pos < end &&
	       fscache_next_hole(bc->cache_fd, pos, end, &hole, &hole_end)) {
		ret = fscache_fetch(bc, hole, hole_end, buf);
		fetched += hole_end - hole;
		pos = hole_end;
	}
	range_lock_release(&bc->inflight, start, end);
	if (ret) {
		counter_add(&bc->stats.errors, 1);
		return ret;
	}
	counter_add(&bc->stats.present_bytes, end - start - MIN(end - start, fetched));
	if (flags & FILL_PREFETCH) {
		counter_add(&bc->stats.prefetch_fills, 1);
		counter_add(&bc->stats.prefetch_bytes, end - start);
	} else if (flags & FILL_READAHEAD) {
		counter_add(&bc->stats.readahead_fills, 1);
		counter_add(&bc->stats.readahead_bytes, end - start);
	} else {
		counter_add(&bc->stats.fills, 1);
		counter_add(&bc->stats.fill_bytes, end - start);
	}
	return 0;
}

static const struct blob_cache_ops fscache_blob_ops = {
	.fill = fscache_fill,
	.read = blob_cache_read_backend,
};

static int fscache_blob_init(struct cache_mgr *mgr,
			     const struct blob_info *info,
			     struct blob_cache *bc)
{
	(void)mgr;
	if (info->cache_fd < 0)
		return -EINVAL;
	/* Our own reference: the front end closes its fd when it likes. */
	bc->cache_fd = fcntl(info->cache_fd, F_DUPFD_CLOEXEC, 3);
	if (bc->cache_fd < 0)
		return -errno;
	bc->ops = &fscache_blob_ops;
	return 0;
}

const struct cache_mgr_ops fscache_cache_mgr_ops = {
	.type = "fscache",
	.keep_unused = false,
	.blob_init = fscache_blob_init,
};
