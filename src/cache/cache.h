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
 * Managers are created and reused by the factory (factory.h). This is what
 * front ends use; cache_int.h is the cache room's own.
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

/* blob_cache_fill() flags */
#define FILL_READAHEAD	(1U << 0)	/* not asked for (yet): statistics */
#define FILL_PREFETCH	(1U << 1)	/* the whole-blob prefetch: statistics */

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

void blob_cache_put(struct blob_cache *bc);

/*
 * Make [off, off + len) of the blob present in its cache file, through the
 * manager: fetching only what is missing, each missing byte once even when
 * fills overlap. @buf: the worker's buffer; @flags: FILL_*.
 */
int blob_cache_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
		    struct io_buf *buf, unsigned int flags);

/*
 * Whether all of [off, off + len) is in the cache file, for a front end that
 * answers such a read at once. A range a fill holds is not: until that fill
 * ends, blocks it failed to write may still look like data.
 */
bool blob_cache_present(struct blob_cache *bc, uint64_t off, uint64_t len);

/* Copy [off, off + len) of the blob into @buf (the dummy manager's way). */
ssize_t blob_cache_read(struct blob_cache *bc, void *buf, size_t len,
			uint64_t off);
/* Whether the blob's configuration has cache.validate. */
bool blob_cache_validates(const struct blob_cache *bc);

#endif
