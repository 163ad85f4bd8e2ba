/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A front end: how the kernel asks for the bytes of a blob. Each one turns
 * its kernel's requests into blob caches from the factory and fills on
 * them; nothing below it knows which front end asked.
 *
 *   cachefiles  /dev/cachefiles on-demand mode: the kernel mounts EROFS
 *               over fscache and opens each blob itself
 *   fanotify    FAN_PRE_ACCESS on sparse files the daemon creates: the
 *               daemon mounts file-backed EROFS over them
 *
 * The daemon holds one front end through struct frontend and its ops.
 */
#ifndef FSCACHED_FRONTEND_H
#define FSCACHED_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "space/watermarks.h"

struct blob_source;
struct factory;
struct fscached_config;
struct json_object;

/*
 * How blob @blob_id of volume @domain is served: returns 0 and a source
 * the caller releases (blob_source_release()), or -ENOENT.
 */
typedef int (*blob_resolve_fn)(void *ctx, const char *domain,
			       const char *blob_id, struct blob_source *src);


struct frontend_options {
	const char *cache_dir;		/* "dir" of the cache */
	const char *tag;		/* optional cache tag */
	/*
	 * >= 0: the fd a previous daemon served (the cachefiles device, the
	 * fanotify group), kept alive by a holder: take it over instead of
	 * opening a new one (taken over, also on error). -1: open afresh.
	 */
	int held_fd;
	bool quiet_busy;		/* -EBUSY is expected: do not log it */
	struct cache_limits limits;
	unsigned int threads;		/* request workers */
	uint64_t readahead;		/* bytes fetched ahead of a sequential reader, 0: off */
	uint64_t fetch_unit;		/* smallest fetch, a power of two */
	struct factory *factory;
	blob_resolve_fn resolve;
	void *resolve_ctx;
};

/* A mount the daemon makes itself (nydusd's POST /api/v1/mount). */
struct frontend_mount {
	const char *mountpoint;
	const char *source;		/* the bootstrap (or plain EROFS image) file */
	const char *fs_type;		/* "rafs" or "erofs" */
	/* How the image's blobs are fetched (the caller's, copied as needed) */
	const struct fscached_config *cfg;
};

struct frontend;

struct frontend_ops {
	const char *name;
	/* Opens (or takes over opts->held_fd); logs what to do on failure. */
	int (*open)(const struct frontend_options *opts, struct frontend **out);
	/* Serves requests until ->stop(). */
	int (*run)(struct frontend *fe);
	/* Async-signal-safe. */
	void (*stop)(struct frontend *fe);
	/* The fd a holder keeps across a restart (still ours), or -1. */
	int (*held_fd)(struct frontend *fe);
	/*
	 * Remove blob @blob_id's cache files: how many, -ENOENT for none,
	 * -EBUSY while a mount uses one.
	 */
	int (*cull_blob)(struct frontend *fe, const char *blob_id);
	/* Mount and unmount: NULL where the kernel mounts (cachefiles). */
	int (*mount)(struct frontend *fe, const struct frontend_mount *m,
		     char *why, size_t len);
	int (*umount)(struct frontend *fe, const char *mountpoint, char *why,
		      size_t len);
	/* nydusd's GET /api/v1/mount: {"mountpoint": {...}, ...} */
	struct json_object *(*mounts_json)(struct frontend *fe);
	/* Its counters, added to @obj. */
	void (*stats_json)(struct frontend *fe, struct json_object *obj);
	/*
	 * Waits for in-flight requests, then releases everything. @held: a
	 * holder keeps ->held_fd() for the next daemon, so leave what is to
	 * outlive us (the fanotify mounts) as it is.
	 */
	void (*close)(struct frontend *fe, bool held);
};

struct frontend {
	const struct frontend_ops *ops;
};

#ifdef FSCACHED_HAVE_FSCACHE
extern const struct frontend_ops cachefiles_frontend_ops;
extern const struct frontend_ops fanotify_frontend_ops;
#endif

/* The front end called @name ("cachefiles", "fanotify"), or NULL. */
const struct frontend_ops *frontend_find(const char *name);
/*
 * The front end to serve with: @name, or for "auto" the one this kernel
 * offers; a @held_fd (>= 0) decides by what it is. NULL when none fits.
 * @why says why (for the log, or the error).
 */
const struct frontend_ops *frontend_choose(const char *name, int held_fd,
					   char *why, size_t len);

#endif
