/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /dev/cachefiles front end: binds a cache directory in on-demand mode,
 * reads the kernel's requests through io_uring and serves them from blob
 * caches handed out by the factory.
 */
#ifndef FSCACHED_FRONTEND_CACHEFILES_H
#define FSCACHED_FRONTEND_CACHEFILES_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

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

/*
 * cachefilesd's space limits, in percent of the cache filesystem's blocks
 * and files: culling starts below *cull and goes on until *run are free;
 * below *stop the kernel refuses to write. @off: no culling, the kernel's
 * own limits.
 */
struct cache_limits {
	bool off;
	unsigned int brun, bcull, bstop;
	unsigned int frun, fcull, fstop;
};

#define CACHE_LIMITS_DEFAULT	{ false, 10, 7, 3, 10, 7, 3 }

struct cachefiles_options {
	const char *cache_dir;		/* "dir" of the cache */
	const char *tag;		/* optional cache tag */
	/*
	 * >= 0: the device fd a previous daemon bound, kept alive by a
	 * holder: restore it instead of binding (taken over, also on error).
	 * -1: open and bind the device.
	 */
	int held_dev_fd;
	bool quiet_busy;		/* -EBUSY is expected: do not log it */
	struct cache_limits limits;
	unsigned int threads;		/* request workers */
	uint64_t readahead;		/* bytes fetched ahead of a sequential reader, 0: off */
	uint64_t fetch_unit;		/* smallest fetch, a power of two */
	struct factory *factory;
	blob_resolve_fn resolve;
	void *resolve_ctx;
};

struct cachefiles_stats {
	uint64_t opens;
	uint64_t open_errors;
	uint64_t read_requests;		/* READs received */
	uint64_t reads;
	uint64_t read_bytes;
	uint64_t read_errors;
	uint64_t readaheads;		/* read-ahead fills done */
	uint64_t readahead_errors;
	uint64_t closes;
	uint64_t bad_messages;
	uint64_t objects;
	uint64_t cull_passes;		/* the cache ran low on space */
	uint64_t culled;		/* cache files culled then */
	uint64_t culled_bytes;
	uint64_t culled_volumes;	/* volume directories left empty */
	uint64_t no_room;		/* writes that found no room at first */
	uint64_t workers;		/* worker threads now, stand-ins included */
	uint64_t standins_started;	/* for a stalled backend (workqueue.h) */
	uint64_t rechecked;		/* released cache files hashed (recheck.h) */
	uint64_t recheck_mismatches;	/* ... with other bytes than their digest */
	uint64_t recheck_culled;
	uint64_t recheck_missed;	/* no cache file appeared, or unreadable */
};

struct cachefiles_frontend;

#ifdef FSCACHED_HAVE_FSCACHE
/* Opens and binds the device; logs what to do when that fails. */
int cachefiles_frontend_open(const struct cachefiles_options *opts,
			     struct cachefiles_frontend **out);
/* Serves requests until cachefiles_frontend_stop(). */
int cachefiles_frontend_run(struct cachefiles_frontend *fe);
/* Async-signal-safe. */
void cachefiles_frontend_stop(struct cachefiles_frontend *fe);
/* The device fd, for a holder to keep across a restart (still ours). */
int cachefiles_frontend_device(struct cachefiles_frontend *fe);
/*
 * Remove blob @blob_id's cache files (all domains): how many, -ENOENT for
 * none, -EBUSY while a mount uses one. A blob just unmounted is waited for
 * (up to 2 s) until the kernel lets it go.
 */
int cachefiles_frontend_cull_blob(struct cachefiles_frontend *fe,
				  const char *blob_id);
/* Waits for in-flight requests, then releases everything. */
void cachefiles_frontend_close(struct cachefiles_frontend *fe);
void cachefiles_frontend_stats(struct cachefiles_frontend *fe,
			       struct cachefiles_stats *st);
#else
static inline int cachefiles_frontend_open(const struct cachefiles_options *o,
					   struct cachefiles_frontend **out)
{
	(void)out;
	if (o->held_dev_fd >= 0)
		close(o->held_dev_fd);
	return -EOPNOTSUPP;
}

static inline int cachefiles_frontend_run(struct cachefiles_frontend *fe)
{
	(void)fe;
	return -EOPNOTSUPP;
}

static inline void cachefiles_frontend_stop(struct cachefiles_frontend *fe)
{
	(void)fe;
}

static inline void cachefiles_frontend_close(struct cachefiles_frontend *fe)
{
	(void)fe;
}

static inline int cachefiles_frontend_device(struct cachefiles_frontend *fe)
{
	(void)fe;
	return -1;
}

static inline int cachefiles_frontend_cull_blob(struct cachefiles_frontend *fe,
						const char *blob_id)
{
	(void)fe, (void)blob_id;
	return -EOPNOTSUPP;
}

static inline void cachefiles_frontend_stats(struct cachefiles_frontend *fe,
					     struct cachefiles_stats *st)
{
	(void)fe, (void)st;
}
#endif

#endif
