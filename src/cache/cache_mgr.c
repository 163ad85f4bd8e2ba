// SPDX-License-Identifier: GPL-2.0
/* What every cache manager shares: blob lookup, refcounts, GC, statistics. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "lib/blob_range.h"
#include "cache_int.h"
#include "lib/compiler.h"
#include "lib/fileio.h"
#include "config/config.h"
#include "format/erofs.h"
#include "lib/log.h"
#include "verify.h"

static const struct cache_mgr_ops *const cache_mgrs[] = {
	&filecache_mgr_ops,
	&dummy_cache_mgr_ops,
};

static const struct cache_mgr_ops *cache_mgr_find(const char *type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cache_mgrs); i++)
		if (!strcmp(cache_mgrs[i]->type, type))
			return cache_mgrs[i];
	return NULL;
}

bool cache_type_supported(const char *type)
{
	return cache_mgr_find(type) != NULL;
}

int cache_mgr_create(const struct fscached_config *cfg, struct cache_mgr **out)
{
	const struct cache_mgr_ops *ops = cache_mgr_find(cfg->cache_type);
	struct cache_mgr *mgr;
	int ret;

	if (!ops)
		return -EOPNOTSUPP;
	mgr = calloc(1, sizeof(*mgr));
	if (!mgr)
		return -ENOMEM;
	mgr->ops = ops;
	list_init(&mgr->blobs);
	list_init(&mgr->node);
	pthread_mutex_init(&mgr->lock, NULL);
	mgr->config = config_dup(cfg);
	if (!mgr->config) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = backend_create(cfg->backend_type, cfg->backend, &mgr->backend);
	if (ret)
		goto err_free_config;
	*out = mgr;
	return 0;

err_free_config:
	config_free(mgr->config);
err_free:
	pthread_mutex_destroy(&mgr->lock);
	free(mgr);
	return ret;
}

static void blob_cache_free(struct blob_cache *bc)
{
	if (bc->ops && bc->ops->release)
		bc->ops->release(bc);
	backend_blob_close(bc->bblob);
	if (bc->cache_fd >= 0)
		close(bc->cache_fd);
	blob_verify_free(bc->verify);
	range_lock_destroy(&bc->inflight);
	readahead_destroy(&bc->ra);
	free(bc->prefetch_first);
	free(bc->id);
	free(bc->domain);
	free(bc);
}

bool blob_cache_wants_inspect(struct blob_cache *bc, uint64_t off,
			      size_t len)
{
	return off <= EROFS_SB_OFFSET &&
	       off + len >= EROFS_SB_OFFSET + EROFS_SB_SIZE &&
	       __atomic_load_n(&bc->format, __ATOMIC_RELAXED) ==
		       BLOB_FORMAT_UNKNOWN;
}

void blob_cache_inspect(struct blob_cache *bc, uint64_t off,
			const void *data, size_t len)
{
	struct erofs_sb_summary sb;
	int unknown = BLOB_FORMAT_UNKNOWN, format = BLOB_FORMAT_PLAIN;

	if (!blob_cache_wants_inspect(bc, off, len))
		return;
	if (!erofs_sb_parse((const char *)data + (EROFS_SB_OFFSET - off),
			    EROFS_SB_SIZE, &sb) && sb.compressed)
		format = BLOB_FORMAT_COMPRESSED;
	if (!__atomic_compare_exchange_n(&bc->format, &unknown, format, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED) ||
	    format != BLOB_FORMAT_COMPRESSED)
		return;
	/*
	 * Linux (6.12 at least) ends a compressed read once per piece when
	 * the cache file has data and then a hole inside it, which wedges
	 * the unmount. Data written beyond what the kernel asked for makes
	 * exactly that layout: fill only what is asked for.
	 */
	readahead_disable(&bc->ra);
	log_info("blob '%s' is a compressed EROFS image: no read-ahead, no widened fetches",
		 bc->id);
}

bool blob_cache_may_widen(struct blob_cache *bc, uint64_t off)
{
	int format = __atomic_load_n(&bc->format, __ATOMIC_RELAXED);
	int unknown = BLOB_FORMAT_UNKNOWN;

	if (format != BLOB_FORMAT_UNKNOWN)
		return format == BLOB_FORMAT_PLAIN;
	if (off < EROFS_SB_OFFSET + EROFS_SB_SIZE)
		return false;
	/*
	 * An image's first read is its superblock: a blob first read
	 * elsewhere is the data blob of another image.
	 */
	__atomic_compare_exchange_n(&bc->format, &unknown, BLOB_FORMAT_PLAIN,
				    false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return __atomic_load_n(&bc->format, __ATOMIC_RELAXED) ==
	       BLOB_FORMAT_PLAIN;
}

void blob_cache_fill_bounds(struct blob_cache *bc, uint64_t off,
			    uint64_t len, uint64_t *start, uint64_t *end)
{
	uint64_t unit = blob_cache_may_widen(bc, off) ? bc->fetch_unit
						      : CACHE_BLOCK_SIZE;

	*start = ALIGN_DOWN(off, unit);
	*end = MIN(ALIGN_UP(off + len, unit), bc->size);
}

bool blob_cache_present(struct blob_cache *bc, uint64_t off, uint64_t len)
{
	bool present;
	off_t hole;

	if (!range_lock_try(&bc->inflight, off, off + len))
		return false;
	hole = lseek(bc->cache_fd, (off_t)off, SEEK_HOLE);
	present = hole >= 0 && (uint64_t)hole >= off + len;
	range_lock_release(&bc->inflight, off, off + len);
	return present;
}

/*
 * A write that fails is punched out, which drops its blocks and its page
 * cache. Taking the space first with fallocate() would fail more cleanly,
 * but a daemon killed between the two would leave unwritten extents, and
 * once read-ahead has cached their zeros SEEK_DATA counts them as data
 * (the kill -9 tests saw such zeros). The kernel's cachefiles fd takes no
 * fallocate (ENODEV): its direct writes leave nothing behind on failure.
 */
static void blob_cache_undo_write(struct blob_cache *bc, uint64_t off,
				  size_t len)
{
	if (fallocate(bc->cache_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) &&
	    errno != ENODEV && errno != EOPNOTSUPP) {
		counter_add(&bc->stats.errors, 1);
		log_error("blob '%s': a failed write at %llu (+%zu) of its cache file cannot be undone (%s): reads there may see zeros; remove the blob to be safe",
			  bc->id, (unsigned long long)off, len, strerror(errno));
	}
}

int blob_cache_write(struct blob_cache *bc, const void *buf, size_t len,
		     uint64_t off)
{
	int ret = pwrite_full(bc->cache_fd, buf, len, (off_t)off);

	if (ret)
		blob_cache_undo_write(bc, off, len);
	return ret;
}

bool blob_cache_may_copy(struct blob_cache *bc, uint64_t off, size_t len)
{
	/*
	 * A nydus blob's cache file is its uncompressed space, never a copy
	 * of the backend's bytes; a partial last block is zero padded, as
	 * the kernel's is.
	 */
	return !bc->nydus && !(len % CACHE_BLOCK_SIZE) &&
	       backend_blob_can_copy(bc->bblob) &&
	       !__atomic_load_n(&bc->copy_refused, __ATOMIC_RELAXED) &&
	       !blob_cache_wants_inspect(bc, off, len);
}

int blob_cache_copy_in(struct blob_cache *bc, uint64_t off, size_t len)
{
	ssize_t n = backend_blob_copy(bc->bblob, bc->cache_fd, off, len, off);

	if (n == -EXDEV) {
		/* Said once: every later fill reads and writes. */
		if (!__atomic_exchange_n(&bc->copy_refused, true,
					 __ATOMIC_RELAXED))
			log_debug("blob '%s': its cache file takes no copy from the backend's file (another filesystem): fills read and write",
				  bc->id);
		return -EXDEV;
	}
	if (n < 0) {
		blob_cache_undo_write(bc, off, len);
		return n;
	}
	return 0;
}

bool blob_cache_readahead(struct blob_cache *bc, uint64_t off, uint64_t len,
			  uint64_t window, uint64_t *ra_off, uint64_t *ra_len)
{
	uint64_t start, end;

	blob_cache_fill_bounds(bc, off, len, &start, &end);
	/* The kernel's next READ of the stream starts at the next hole. */
	return readahead_plan(&bc->ra, off, MAX(end, off + len) - off,
			      bc->size, window, ra_off, ra_len);
}

/*
 * A remote request costs much more than its bytes: in the qemu guest (TCG)
 * docker-registry 2.8 spent 83 ms of CPU on each 1 MiB range request, and
 * 17 ms per MiB of one long GET; and every request is a round trip.
 * Readers wait only for their own bytes of a streamed piece
 * (range_lock_advance()), so big pieces cost them nothing.
 */
#define STREAM_PIECE_MIN	(8U << 20)

uint64_t blob_cache_piece_size(struct blob_cache *bc, uint64_t off,
			       uint64_t len, unsigned int workers,
			       uint64_t buf_size)
{
	/*
	 * A copy inside the kernel reads ahead by itself, and writers of one
	 * file take turns on its lock: two workers copying spin on it (on
	 * 6.18 ext4 a seventh of all CPU time) for nothing. One piece.
	 */
	if (blob_cache_may_copy(bc, off, len))
		return ALIGN_UP(len, buf_size);
	/* One request per worker, and none small. */
	if (backend_blob_can_stream(bc->bblob) && workers)
		return MAX(MAX(buf_size, (uint64_t)STREAM_PIECE_MIN),
			   ALIGN_UP(len / workers, buf_size));
	return buf_size;
}

void blob_cache_stats_add(struct blob_cache_stats *sum,
			     const struct blob_cache_stats *s)
{
	sum->fills += counter_read(&s->fills);
	sum->fill_bytes += counter_read(&s->fill_bytes);
	sum->readahead_fills += counter_read(&s->readahead_fills);
	sum->readahead_bytes += counter_read(&s->readahead_bytes);
	sum->present_bytes += counter_read(&s->present_bytes);
	sum->reads += counter_read(&s->reads);
	sum->read_bytes += counter_read(&s->read_bytes);
	sum->errors += counter_read(&s->errors);
	sum->prefetch_fills += counter_read(&s->prefetch_fills);
	sum->prefetch_bytes += counter_read(&s->prefetch_bytes);
	sum->prefetch_errors += counter_read(&s->prefetch_errors);
	sum->fetch_us += counter_read(&s->fetch_us);
	sum->write_us += counter_read(&s->write_us);
	sum->verified += counter_read(&s->verified);
	sum->verified_bytes += counter_read(&s->verified_bytes);
	sum->digest_mismatches += counter_read(&s->digest_mismatches);
	sum->chunks_fetched += counter_read(&s->chunks_fetched);
	sum->chunk_bytes += counter_read(&s->chunk_bytes);
	sum->compressed_bytes += counter_read(&s->compressed_bytes);
	sum->decompress_us += counter_read(&s->decompress_us);
	sum->decode_errors += counter_read(&s->decode_errors);
	sum->chunks_verified += counter_read(&s->chunks_verified);
	sum->meta_bytes += counter_read(&s->meta_bytes);
}

void cache_mgr_stats_add(struct cache_mgr_stats *sum,
			 const struct cache_mgr_stats *s)
{
	sum->blobs += s->blobs;
	sum->blob_bytes += s->blob_bytes;
	sum->blobs_opened += s->blobs_opened;
	blob_cache_stats_add(&sum->cache, &s->cache);
	sum->fill_waits += s->fill_waits;
	sum->backend_opens += s->backend_opens;
	sum->backend_reads += s->backend_reads;
	sum->backend_read_bytes += s->backend_read_bytes;
	sum->backend_errors += s->backend_errors;
	sum->backend_connections += s->backend_connections;
}

/* Called with mgr->lock held. */
static void blob_cache_unlink(struct cache_mgr *mgr, struct blob_cache *bc)
{
	list_del(&bc->node);
	mgr->nr_blobs--;
	blob_cache_stats_add(&mgr->retired, &bc->stats);
	mgr->retired_waits += counter_read(&bc->inflight.waits);
}

void cache_mgr_destroy(struct cache_mgr *mgr)
{
	struct blob_cache *bc, *n;

	if (!mgr)
		return;
	list_for_each_entry_safe(bc, n, &mgr->blobs, node) {
		if (bc->refs)
			log_warn("blob '%s' still in use while its cache manager goes away",
				 bc->id);
		blob_cache_unlink(mgr, bc);
		blob_cache_free(bc);
	}
	backend_destroy(mgr->backend);
	config_free(mgr->config);
	pthread_mutex_destroy(&mgr->lock);
	free(mgr);
}

static bool blob_cache_matches(const struct blob_cache *bc,
			       const struct blob_info *info)
{
	return !strcmp(bc->id, info->id) &&
	       !strcmp(bc->domain, info->domain ? info->domain : "");
}

static int blob_cache_create(struct cache_mgr *mgr,
			     const struct blob_info *info,
			     struct blob_cache **out)
{
	struct blob_cache *bc;
	int ret;

	bc = calloc(1, sizeof(*bc));
	if (!bc)
		return -ENOMEM;
	bc->mgr = mgr;
	bc->cache_fd = -1;
	list_init(&bc->node);
	range_lock_init(&bc->inflight);
	readahead_init(&bc->ra);
	bc->fetch_unit = MAX(info->fetch_unit, (uint64_t)CACHE_BLOCK_SIZE);
	bc->local_bootstrap = info->local_bootstrap;
	bc->id = strdup(info->id);
	bc->domain = strdup(info->domain ? info->domain : "");
	if (!bc->id || !bc->domain) {
		ret = -ENOMEM;
		goto err_free;
	}
	if (info->nr_prefetch) {
		size_t n = info->nr_prefetch * sizeof(*bc->prefetch_first);

		bc->prefetch_first = malloc(n);
		if (!bc->prefetch_first) {
			ret = -ENOMEM;
			goto err_free;
		}
		memcpy(bc->prefetch_first, info->prefetch, n);
		bc->nr_prefetch_first = info->nr_prefetch;
	}
	ret = backend_blob_open(mgr->backend, info->id, &bc->bblob);
	if (ret)
		goto err_free;
	bc->size = bc->bblob->size;
	ret = mgr->ops->blob_init(mgr, info, bc);
	if (ret)
		goto err_free;
	*out = bc;
	return 0;

err_free:
	blob_cache_free(bc);
	return ret;
}

int cache_mgr_get_blob(struct cache_mgr *mgr, const struct blob_info *info,
		       struct blob_cache **out)
{
	struct blob_cache *bc;
	int ret;

	pthread_mutex_lock(&mgr->lock);
	if (mgr->ops->keep_unused) {
		list_for_each_entry(bc, &mgr->blobs, node) {
			if (blob_cache_matches(bc, info)) {
				bc->refs++;
				*out = bc;
				pthread_mutex_unlock(&mgr->lock);
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&mgr->lock);

	/* Opening may be slow (a remote backend): not under the lock. */
	ret = blob_cache_create(mgr, info, &bc);
	if (ret)
		return ret;

	pthread_mutex_lock(&mgr->lock);
	bc->refs = 1;
	list_add_tail(&bc->node, &mgr->blobs);
	mgr->nr_blobs++;
	mgr->blobs_opened++;
	pthread_mutex_unlock(&mgr->lock);
	*out = bc;
	return 0;
}

void blob_cache_get(struct blob_cache *bc)
{
	pthread_mutex_lock(&bc->mgr->lock);
	bc->refs++;
	pthread_mutex_unlock(&bc->mgr->lock);
}

int blob_cache_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
		    struct io_buf *buf, unsigned int flags)
{
	return bc->ops->fill(bc, off, len, buf, flags);
}

ssize_t blob_cache_read(struct blob_cache *bc, void *buf, size_t len,
			uint64_t off)
{
	return bc->ops->read(bc, buf, len, off);
}

bool blob_cache_validates(const struct blob_cache *bc)
{
	return bc->mgr->config->validate;
}

void blob_cache_put(struct blob_cache *bc)
{
	struct cache_mgr *mgr = bc->mgr;
	bool free_it = false;

	pthread_mutex_lock(&mgr->lock);
	if (--bc->refs == 0 && !mgr->ops->keep_unused) {
		blob_cache_unlink(mgr, bc);
		free_it = true;
	}
	pthread_mutex_unlock(&mgr->lock);
	if (free_it)
		blob_cache_free(bc);
}

unsigned int cache_mgr_gc(struct cache_mgr *mgr)
{
	struct blob_cache *bc, *n;
	struct list_head dead;
	unsigned int in_use;

	list_init(&dead);
	pthread_mutex_lock(&mgr->lock);
	list_for_each_entry_safe(bc, n, &mgr->blobs, node) {
		if (bc->refs)
			continue;
		blob_cache_unlink(mgr, bc);
		list_add_tail(&bc->node, &dead);
	}
	in_use = mgr->nr_blobs;
	pthread_mutex_unlock(&mgr->lock);

	list_for_each_entry_safe(bc, n, &dead, node)
		blob_cache_free(bc);
	return in_use;
}

void cache_mgr_collect_stats(struct cache_mgr *mgr, struct cache_mgr_stats *st)
{
	struct backend_stats *bs = &mgr->backend->stats;
	struct blob_cache *bc;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&mgr->lock);
	st->blobs = mgr->nr_blobs;
	st->blobs_opened = mgr->blobs_opened;
	st->cache = mgr->retired;
	st->fill_waits = mgr->retired_waits;
	list_for_each_entry(bc, &mgr->blobs, node) {
		blob_cache_stats_add(&st->cache, &bc->stats);
		st->fill_waits += counter_read(&bc->inflight.waits);
		st->blob_bytes += bc->size;
	}
	pthread_mutex_unlock(&mgr->lock);
	st->backend_opens = counter_read(&bs->opens);
	st->backend_reads = counter_read(&bs->reads);
	st->backend_read_bytes = counter_read(&bs->read_bytes);
	st->backend_errors = counter_read(&bs->read_errors) +
			     counter_read(&bs->open_errors);
	st->backend_connections = counter_read(&bs->connections);
}

struct json_object *cache_mgr_stats_json(const struct cache_mgr_stats *st)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
#define ADD(name, v) json_object_object_add(o, name, json_object_new_uint64(v))
	ADD("blobs", st->blobs);
	ADD("blob_bytes", st->blob_bytes);
	ADD("blobs_opened", st->blobs_opened);
	ADD("fills", st->cache.fills);
	ADD("fill_bytes", st->cache.fill_bytes);
	ADD("readahead_fills", st->cache.readahead_fills);
	ADD("readahead_bytes", st->cache.readahead_bytes);
	ADD("present_bytes", st->cache.present_bytes);
	ADD("fill_waits", st->fill_waits);
	ADD("reads", st->cache.reads);
	ADD("read_bytes", st->cache.read_bytes);
	ADD("errors", st->cache.errors);
	ADD("prefetch_fills", st->cache.prefetch_fills);
	ADD("prefetch_bytes", st->cache.prefetch_bytes);
	ADD("prefetch_errors", st->cache.prefetch_errors);
	ADD("fetch_us", st->cache.fetch_us);
	ADD("write_us", st->cache.write_us);
	ADD("verified", st->cache.verified);
	ADD("verified_bytes", st->cache.verified_bytes);
	ADD("digest_mismatches", st->cache.digest_mismatches);
	ADD("chunks_fetched", st->cache.chunks_fetched);
	ADD("chunk_bytes", st->cache.chunk_bytes);
	ADD("compressed_bytes", st->cache.compressed_bytes);
	ADD("decompress_us", st->cache.decompress_us);
	ADD("decode_errors", st->cache.decode_errors);
	ADD("chunks_verified", st->cache.chunks_verified);
	ADD("meta_bytes", st->cache.meta_bytes);
	ADD("backend_opens", st->backend_opens);
	ADD("backend_reads", st->backend_reads);
	ADD("backend_read_bytes", st->backend_read_bytes);
	ADD("backend_errors", st->backend_errors);
	ADD("backend_connections", st->backend_connections);
#undef ADD
	return o;
}

void blob_cache_count_fill(struct blob_cache *bc, unsigned int flags,
			   uint64_t len, uint64_t fetched)
{
	counter_add(&bc->stats.present_bytes, len - MIN(len, fetched));
	if (flags & FILL_PREFETCH) {
		counter_add(&bc->stats.prefetch_fills, 1);
		counter_add(&bc->stats.prefetch_bytes, len);
	} else if (flags & FILL_READAHEAD) {
		counter_add(&bc->stats.readahead_fills, 1);
		counter_add(&bc->stats.readahead_bytes, len);
	} else {
		counter_add(&bc->stats.fills, 1);
		counter_add(&bc->stats.fill_bytes, len);
	}
}

ssize_t blob_cache_read_backend(struct blob_cache *bc, void *buf, size_t len,
				uint64_t off)
{
	ssize_t n = backend_blob_read(bc->bblob, buf, len, off);

	if (n < 0) {
		counter_add(&bc->stats.errors, 1);
		return n;
	}
	counter_add(&bc->stats.reads, 1);
	counter_add(&bc->stats.read_bytes, n);
	return n;
}
