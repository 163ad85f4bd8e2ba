/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to src/cache/: the managers (filecache.c, nydus.c, dummy.c), what
 * they share (cache_mgr.c, verify.c, prefetch.c, fill_group.c) and the
 * factory. Front ends use cache.h.
 */
#ifndef FSCACHED_CACHE_INT_H
#define FSCACHED_CACHE_INT_H

#include "cache.h"

/* What the blob's first bytes said. */
enum blob_format {
	BLOB_FORMAT_UNKNOWN,
	BLOB_FORMAT_PLAIN,		/* uncompressed EROFS, or a data blob */
	BLOB_FORMAT_COMPRESSED,		/* EROFS with compressed data */
};

struct blob_cache_ops {
	/*
	 * Make [off, off + len) of the blob present in the cache file,
	 * fetching only what is missing, and each missing byte once even
	 * when fills overlap.
	 */
	int (*fill)(struct blob_cache *bc, uint64_t off, uint64_t len,
		    struct io_buf *buf, unsigned int flags);
	/* Copy [off, off + len) of the blob into @buf. */
	ssize_t (*read)(struct blob_cache *bc, void *buf, size_t len,
			uint64_t off);
	void (*release)(struct blob_cache *bc);
};

struct cache_mgr_ops {
	const char *type;
	/*
	 * Whether an unused blob cache stays around for reuse by the next
	 * open of the same blob; fscache entries are tied to one cache file
	 * and die with their last user.
	 */
	bool keep_unused;
	int (*blob_init)(struct cache_mgr *mgr, const struct blob_info *info,
			 struct blob_cache *bc);
};

struct cache_mgr {
	const struct cache_mgr_ops *ops;
	struct fscached_config *config;
	struct backend *backend;
	pthread_mutex_t lock;
	struct list_head blobs;
	unsigned int nr_blobs;
	uint64_t blobs_opened;
	struct blob_cache_stats retired;	/* counters of freed caches */
	uint64_t retired_waits;
	struct cache_mgr_stats snapshot;	/* refreshed by the checker */
	struct list_head node;			/* in factory->mgrs */
	unsigned int opening;			/* blob opens under way; factory lock */
};

int cache_mgr_create(const struct fscached_config *cfg, struct cache_mgr **out);
void cache_mgr_destroy(struct cache_mgr *mgr);
int cache_mgr_get_blob(struct cache_mgr *mgr, const struct blob_info *info,
		       struct blob_cache **out);
/* Frees unused blob caches; returns how many are still in use. */
unsigned int cache_mgr_gc(struct cache_mgr *mgr);
void cache_mgr_collect_stats(struct cache_mgr *mgr, struct cache_mgr_stats *st);
/* Counters of @s added to @sum (read atomically: @s may be live). */
void blob_cache_stats_add(struct blob_cache_stats *sum,
			  const struct blob_cache_stats *s);
void cache_mgr_stats_add(struct cache_mgr_stats *sum,
			 const struct cache_mgr_stats *s);
struct json_object *cache_mgr_stats_json(const struct cache_mgr_stats *st);
bool cache_type_supported(const char *type);

void blob_cache_get(struct blob_cache *bc);

/*
 * Write [off, off + len) of the cache file, a hole until now. On failure
 * it is punched out: ext4 out of space leaves blocks of a failed write()
 * that read as zeros and that SEEK_HOLE counts as data.
 */
int blob_cache_write(struct blob_cache *bc, const void *buf, size_t len,
		     uint64_t off);

/*
 * Whether [off, off + len) of the blob may go from the backend into the
 * cache file inside the kernel (blob_cache_copy_in()): whole blocks of a
 * blob that is no nydus data blob, whose backend blob is a local file,
 * into a cache file that took such copies so far, and not the bytes that
 * blob_cache_inspect() must see.
 */
bool blob_cache_may_copy(struct blob_cache *bc, uint64_t off, size_t len);
/*
 * Copy [off, off + len) of the blob into the same range of the cache file,
 * a hole until now, undone on failure as blob_cache_write() is. -EXDEV:
 * the cache file takes no copy (then never again): read and write it.
 */
int blob_cache_copy_in(struct blob_cache *bc, uint64_t off, size_t len);

/*
 * What to fetch ahead after a demand read of [off, off + len) was filled:
 * the stream goes on from the end of what the fill made present.
 */
bool blob_cache_readahead(struct blob_cache *bc, uint64_t off, uint64_t len,
			  uint64_t window, uint64_t *ra_off, uint64_t *ra_len);


/*
 * Bytes [off, off + len) of the blob were just fetched: if they hold an
 * EROFS superblock, adapt to the image (no read-ahead when compressed).
 */
void blob_cache_inspect(struct blob_cache *bc, uint64_t off,
			const void *data, size_t len);
/* Whether blob_cache_inspect() would look at [off, off + len). */
bool blob_cache_wants_inspect(struct blob_cache *bc, uint64_t off,
			      size_t len);

/*
 * Whether a fill at @off may be widened beyond what was asked for: not for
 * a compressed image (see blob_cache_inspect()), and not for the read that
 * tells (the superblock).
 */
bool blob_cache_may_widen(struct blob_cache *bc, uint64_t off);

/*
 * What a fill of [off, off + len) makes present: whole blocks (O_DIRECT),
 * and whole fetch units when blob_cache_may_widen(), so that a small
 * random read brings its neighbours along in one fetch.
 */
void blob_cache_fill_bounds(struct blob_cache *bc, uint64_t off,
			    uint64_t len, uint64_t *start, uint64_t *end);

/*
 * The piece size for filling [off, off + len) with @workers at once: a
 * buffer each, for a backend that streams (where a request costs more than
 * its bytes) one piece per worker, and one piece in all where the range is
 * copied inside the kernel (blob_cache_may_copy()).
 */
uint64_t blob_cache_piece_size(struct blob_cache *bc, uint64_t off,
			       uint64_t len, unsigned int workers,
			       uint64_t buf_size);

/*
 * A fill made [.., + @len) present, of which @fetched bytes came from the
 * backend: counted as a demand, read-ahead or prefetch fill by @flags.
 */
void blob_cache_count_fill(struct blob_cache *bc, unsigned int flags,
			   uint64_t len, uint64_t fetched);

/* Reads straight from the backend; shared by the managers. */
ssize_t blob_cache_read_backend(struct blob_cache *bc, void *buf, size_t len,
				uint64_t off);

extern const struct cache_mgr_ops dummy_cache_mgr_ops;
/* Config type "fscache": a sparse file per blob, for either front end. */
extern const struct cache_mgr_ops filecache_mgr_ops;

#endif
