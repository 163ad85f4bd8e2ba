// SPDX-License-Identifier: GPL-2.0
/*
 * The file cache manager: the local cache of a blob is one sparse file,
 * handed to us as an fd by the front end (the kernel's own cache file for
 * cachefiles, our blob file for fanotify). Filling a range means reading it
 * from the backend and writing it into that file, or having the kernel copy
 * it there. The kernel opens its cache files with O_DIRECT, so every write
 * is block aligned, and a partial last block is zero padded. Its config
 * type is "fscache", nydus's name for it.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cache_int.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "config/config.h"
#include "nydus.h"
#include "verify.h"

/*
 * Write @n fetched bytes at @pos from @buf: a partial last block (the end
 * of the blob) is zero padded for O_DIRECT.
 */
static int filecache_store(struct blob_cache *bc, struct io_buf *buf, size_t n,
			   uint64_t pos)
{
	size_t padded = ALIGN_UP(n, CACHE_BLOCK_SIZE);
	uint64_t t0 = monotonic_us();
	int ret;

	blob_cache_inspect(bc, pos, buf->data, n);
	if (padded != n)
		memset((char *)buf->data + n, 0, padded - n);
	ret = blob_cache_write(bc, buf->data, padded, pos);
	counter_add(&bc->stats.write_us, monotonic_us() - t0);
	if (ret)
		log_debug("blob '%s': writing %zu bytes at %llu into the cache file failed: %s",
			  bc->id, padded, (unsigned long long)pos,
			  strerror(-ret));
	return ret;
}

/* The part of the blob a fill holds in bc->inflight: [start, end). */
struct fill_hold {
	uint64_t start, end;
};

/* Everything below @to is in the cache file now: let waiters for it go. */
static void fill_hold_advance(struct blob_cache *bc, struct fill_hold *hold,
			      uint64_t to)
{
	range_lock_advance(&bc->inflight, &hold->start, hold->end, to);
}

/*
 * One piece from a local blob file straight into the cache file: no copy
 * through @buf. -EXDEV when the cache file cannot take it.
 */
static int filecache_copy_piece(struct blob_cache *bc, uint64_t pos, size_t n)
{
	uint64_t t0 = monotonic_us();
	int ret;

	ret = blob_cache_copy_in(bc, pos, n);
	counter_add(&bc->stats.fetch_us, monotonic_us() - t0);
	return ret;
}

/* One piece: copied where it can be, else read into @buf and written. */
static int filecache_fetch_piece(struct blob_cache *bc, uint64_t pos,
				 size_t want, struct io_buf *buf, size_t *got)
{
	uint64_t t0;
	ssize_t n;
	int ret;

	*got = want;
	if (blob_cache_may_copy(bc, pos, want)) {
		ret = filecache_copy_piece(bc, pos, want);
		if (ret != -EXDEV)
			return ret;
	}
	t0 = monotonic_us();
	n = backend_blob_read(bc->bblob, buf->data, want, pos);
	counter_add(&bc->stats.fetch_us, monotonic_us() - t0);
	if (n < 0)
		return n;
	*got = n;
	return filecache_store(bc, buf, n, pos);
}

/* Fetch [pos, end) with one backend read (or copy) per buffer. */
static int filecache_fetch_pieces(struct blob_cache *bc, uint64_t pos,
				  uint64_t end, struct io_buf *buf,
				  struct fill_hold *hold)
{
	int ret;

	while (pos < end) {
		size_t want = MIN(end - pos, (uint64_t)buf->size), got;

		ret = filecache_fetch_piece(bc, pos, want, buf, &got);
		if (ret)
			return ret;
		pos += got;
		fill_hold_advance(bc, hold, pos);
	}
	return 0;
}

/* A streamed range, gathered into the buffer and written as it fills. */
struct filecache_stream {
	struct blob_cache *bc;
	struct io_buf *buf;
	struct fill_hold *hold;
	uint64_t pos;		/* blob offset of buf->data[0] */
	size_t used;
	uint64_t write_us;	/* spent in filecache_store(), not waiting */
};

static int filecache_stream_consume(void *ctx, const void *data, size_t n)
{
	struct filecache_stream *st = ctx;
	uint64_t t0;
	size_t take;
	int ret;

	while (n) {
		take = MIN(n, st->buf->size - st->used);
		memcpy((char *)st->buf->data + st->used, data, take);
		st->used += take;
		data = (const char *)data + take;
		n -= take;
		if (st->used < st->buf->size)
			break;
		t0 = monotonic_us();
		ret = filecache_store(st->bc, st->buf, st->used, st->pos);
		st->write_us += monotonic_us() - t0;
		if (ret)
			return ret;
		st->pos += st->used;
		st->used = 0;
		fill_hold_advance(st->bc, st->hold, st->pos);
	}
	return 0;
}

/* Fetch [pos, end) with one backend request, written as it arrives. */
static int filecache_fetch_stream(struct blob_cache *bc, uint64_t pos,
				  uint64_t end, struct io_buf *buf,
				  struct fill_hold *hold)
{
	struct filecache_stream st = { .bc = bc, .buf = buf, .hold = hold,
				     .pos = pos };
	uint64_t t0 = monotonic_us();
	int ret;

	ret = backend_blob_stream(bc->bblob, pos, end - pos,
				  filecache_stream_consume, &st);
	counter_add(&bc->stats.fetch_us, monotonic_us() - t0 - st.write_us);
	/* Whole blocks that arrived are good data even when the rest failed. */
	if (ret)
		st.used = ALIGN_DOWN(st.used, (size_t)CACHE_BLOCK_SIZE);
	if (st.used) {
		int wret = filecache_store(bc, buf, st.used, st.pos);

		ret = ret ? ret : wret;
	}
	return ret;
}

static int filecache_fetch(struct blob_cache *bc, uint64_t pos, uint64_t end,
			   struct io_buf *buf, struct fill_hold *hold)
{
	if (backend_blob_can_stream(bc->bblob) && end - pos > buf->size)
		return filecache_fetch_stream(bc, pos, end, buf, hold);
	return filecache_fetch_pieces(bc, pos, end, buf, hold);
}

/*
 * The next hole of the cache file in [pos, end): what the kernel, an
 * earlier fill or a read-ahead already wrote is skipped. Without
 * SEEK_DATA support everything counts as a hole.
 */
static bool filecache_next_hole(int fd, uint64_t pos, uint64_t end,
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

static int filecache_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
			  struct io_buf *buf, unsigned int flags)
{
	uint64_t start, pos, end, hole, hole_end, fetched = 0;
	struct fill_hold hold;
	int ret = 0;

	if (off >= bc->size || len == 0) {
		counter_add(&bc->stats.errors, 1);
		return -EINVAL;
	}
	if (bc->verify) {
		ret = blob_verify_ensure(bc->verify, buf);
		if (ret) {
			counter_add(&bc->stats.errors, 1);
			return ret;
		}
	}
	len = MIN(len, bc->size - off);
	blob_cache_fill_bounds(bc, off, len, &start, &end);

	range_lock_acquire(&bc->inflight, start, end);
	hold.start = start;
	hold.end = end;
	pos = start;
	/* The holes in order: all below the one fetched now is present. */
	while (!ret && pos < end &&
	       filecache_next_hole(bc->cache_fd, pos, end, &hole, &hole_end)) {
		ret = filecache_fetch(bc, hole, hole_end, buf, &hold);
		fetched += hole_end - hole;
		pos = hole_end;
	}
	range_lock_release(&bc->inflight, hold.start, end);
	if (ret) {
		counter_add(&bc->stats.errors, 1);
		return ret;
	}
	blob_cache_count_fill(bc, flags, end - start, fetched);
	return 0;
}

static bool filecache_present(struct blob_cache *bc)
{
	uint64_t hole, hole_end;

	return !filecache_next_hole(bc->cache_fd, 0, bc->size, &hole, &hole_end);
}

/*
 * The validated blob from its staging file into the cache file, from the
 * end downwards: the cache file's data grows as one suffix, never data
 * then a hole, which a compressed image's reads cannot take (design.md).
 */
static int filecache_publish(struct blob_cache *bc, int stage_fd,
			     struct io_buf *buf)
{
	uint64_t pos = bc->size ? ALIGN_DOWN(bc->size - 1, (uint64_t)buf->size) : 0;
	uint64_t end = bc->size;
	ssize_t n;
	int ret;

	while (end) {
		n = pread(stage_fd, buf->data, end - pos, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)(end - pos))
			return n < 0 ? -errno : -EIO;
		ret = filecache_store(bc, buf, n, pos);
		if (ret)
			return ret;
		end = pos;
		pos -= MIN(pos, (uint64_t)buf->size);
	}
	return 0;
}

static const struct blob_verify_ops filecache_verify_ops = {
	.present = filecache_present,
	.publish = filecache_publish,
};

static const struct blob_cache_ops filecache_blob_ops = {
	.fill = filecache_fill,
	.read = blob_cache_read_backend,
};

static int filecache_blob_init(struct cache_mgr *mgr,
			       const struct blob_info *info,
			       struct blob_cache *bc)
{
	int ret;

	if (info->cache_fd < 0)
		return -EINVAL;
	/* Our own reference: the front end closes its fd when it likes. */
	bc->cache_fd = fcntl(info->cache_fd, F_DUPFD_CLOEXEC, 3);
	if (bc->cache_fd < 0)
		return -errno;
	if (info->rafs)
		return nydus_blob_init(mgr, info, bc);
	bc->ops = &filecache_blob_ops;
	/*
	 * A bootstrap the runtime handed us as a file is served as it is:
	 * its id (the snapshotter's image id) names no digest of its bytes.
	 */
	if (!mgr->config->validate || info->local_bootstrap)
		return 0;
	if (!info->stage_dir) {
		log_error("blob '%s': cache.validate needs a directory for staging files, and this front end gives none",
			  bc->id);
		return -EINVAL;
	}
	ret = blob_verify_create(bc, info->stage_dir, &filecache_verify_ops,
				 &bc->verify);
	if (!ret && !bc->verify)
		log_warn("blob '%s' is not named by a sha256 digest: cache.validate cannot check it, it is served as fetched",
			 bc->id);
	return ret;
}

const struct cache_mgr_ops filecache_mgr_ops = {
	.type = "fscache",
	.keep_unused = false,
	.blob_init = filecache_blob_init,
};
