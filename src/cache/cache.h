/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cache managers and blob caches.
 *
 * A cache manager serves one configuration: it owns that configuration's
 * backend and hands out blob caches, one per open blob. A blob cache turns
 * "the kernel needs [off, off + len) of blob X" into backend reads and, for
 * the file cache manager, writes into the cache file the front end gave us.
 *
 *   fscache  (filecache.c) one sparse file per blob, an fd from the front
 *            end; blob_cache_fill() writes ranges into it
 *   dummy    no local cache: blob_cache_read() goes straight to the backend
 *
 * Managers are created and reused by the factory (factory.h).
 */
#ifndef FSCACHED_CACHE_H
#define FSCACHED_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/io_buf.h"
#include "lib/list.h"
#include "range_lock.h"
#include "readahead.h"

struct backend;
struct backend_blob;
struct fscached_config;
struct json_object;
struct blob_range;
struct chunk_digest;
struct blob_verify;
struct nydus_blob;
struct rafs_blob;

/* The cache file is written with O_DIRECT: everything aligned to this. */
#define CACHE_BLOCK_SIZE	4096

/* What a front end knows about a blob it wants a cache for. */
struct blob_info {
	const char *id;		/* blob id: the cookie key */
	const char *domain;	/* fsid or domain_id of the volume */
	int cache_fd;		/* cache file to fill, or -1 */
	uint64_t fetch_unit;	/* smallest fetch (power of two), 0: a block */
	/*
	 * Where a cache may keep unnamed staging files (cache.validate) and
	 * what it keeps of blobs (nydus blob meta).
	 */
	const char *stage_dir;
	/* A nydus data blob: its blob table entry. NULL: byte for byte. */
	const struct rafs_blob *rafs;
	/* cache.validate of a nydus blob: chunk digests by index, or NULL */
	const struct chunk_digest *chunk_digests;
	uint32_t nr_chunk_digests;
	/* Ranges to prefetch first (files the image names), or NULL */
	const struct blob_range *prefetch;
	unsigned int nr_prefetch;
	/* A bootstrap from its local file: its id is no digest of it. */
	bool local_bootstrap;
};

struct blob_cache_stats {
	uint64_t fills;		/* demand ranges made present in the cache file */
	uint64_t fill_bytes;
	uint64_t readahead_fills;	/* ranges fetched ahead of the reader */
	uint64_t readahead_bytes;
	uint64_t present_bytes;	/* asked for, but already in the cache file */
	uint64_t reads;		/* ranges read into memory */
	uint64_t read_bytes;
	uint64_t errors;
	uint64_t prefetch_fills;	/* pieces prefetched */
	uint64_t prefetch_bytes;
	uint64_t prefetch_errors;
	uint64_t fetch_us;	/* waiting for the backend, in fills */
	uint64_t write_us;	/* writing the cache file */
	uint64_t verified;	/* blobs fetched whole and validated */
	uint64_t verified_bytes;
	uint64_t digest_mismatches;	/* ... that had other bytes */
	/* nydus data blobs */
	uint64_t chunks_fetched;	/* chunks decoded and written */
	uint64_t chunk_bytes;		/* their uncompressed bytes */
	uint64_t compressed_bytes;	/* fetched for them */
	uint64_t decompress_us;
	uint64_t decode_errors;		/* chunks that did not decompress */
	uint64_t chunks_verified;	/* chunk digests checked */
	uint64_t meta_bytes;		/* blob meta fetched */
};

struct blob_cache {
	const struct blob_cache_ops *ops;
	struct cache_mgr *mgr;
	char *id;
	char *domain;
	uint64_t size;
	struct backend_blob *bblob;
	int cache_fd;
	unsigned int refs;		/* under mgr->lock */
	struct list_head node;		/* in mgr->blobs */
	struct blob_cache_stats stats;
	struct range_lock inflight;	/* ranges being fetched */
	struct readahead ra;
	uint64_t fetch_unit;		/* power of two, >= CACHE_BLOCK_SIZE */
	int format;			/* enum blob_format, atomic */
	bool copy_refused;		/* atomic: see blob_cache_copy_in() */
	bool prefetch_started;		/* atomic */
	bool prefetch_stopped;		/* atomic: prefetch_stop() */
	struct blob_verify *verify;	/* cache.validate, for a digest id */
	bool local_bootstrap;		/* blob_info's: never checked by id */
	struct nydus_blob *nydus;	/* a nydus data blob: its chunk map */
	struct blob_range *prefetch_first;	/* files the image names */
	unsigned int nr_prefetch_first;
};

/* What the blob's first bytes said. */
enum blob_format {
	BLOB_FORMAT_UNKNOWN,
	BLOB_FORMAT_PLAIN,		/* uncompressed EROFS, or a data blob */
	BLOB_FORMAT_COMPRESSED,		/* EROFS with compressed data */
};

/* blob_cache_fill() flags */
#define FILL_READAHEAD	(1U << 0)	/* not asked for (yet): statistics */
#define FILL_PREFETCH	(1U << 1)	/* the whole-blob prefetch: statistics */

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

struct cache_mgr_stats {
	uint64_t blobs;			/* blob caches alive */
	uint64_t blob_bytes;		/* their sizes */
	uint64_t blobs_opened;		/* blob caches ever created */
	struct blob_cache_stats cache;	/* live + retired blob caches */
	uint64_t backend_opens;
	uint64_t backend_reads;
	uint64_t backend_read_bytes;
	uint64_t backend_errors;
	uint64_t backend_connections;	/* new ones, remote backends */
	uint64_t fill_waits;		/* fills that waited for an overlap */
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
void blob_cache_put(struct blob_cache *bc);

static inline int blob_cache_fill(struct blob_cache *bc, uint64_t off,
				  uint64_t len, struct io_buf *buf,
				  unsigned int flags)
{
	return bc->ops->fill(bc, off, len, buf, flags);
}

/*
 * Whether all of [off, off + len) is in the cache file, for a front end that
 * answers such a read at once. A range a fill holds is not: until that fill
 * ends, blocks it failed to write may still look like data.
 */
bool blob_cache_present(struct blob_cache *bc, uint64_t off, uint64_t len);

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
 * blob that is no nydus data blob, the backend's blob is a local file, the cache file took such copies so far,
 * and these bytes are not what blob_cache_inspect() must see.
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

static inline ssize_t blob_cache_read(struct blob_cache *bc, void *buf,
				      size_t len, uint64_t off)
{
	return bc->ops->read(bc, buf, len, off);
}

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
 * The piece size for filling @len bytes with @workers at once: a buffer
 * each, or for a backend that streams (where a request costs more than its
 * bytes) one piece per worker.
 */
uint64_t blob_cache_piece_size(struct blob_cache *bc, uint64_t len,
			       unsigned int workers, uint64_t buf_size);

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
