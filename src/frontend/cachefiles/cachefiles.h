/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /dev/cachefiles front end: binds a cache directory in on-demand mode,
 * reads the kernel's requests through io_uring and serves them from blob
 * caches handed out by the factory.
 */
#ifndef FSCACHED_FRONTEND_CACHEFILES_H
#define FSCACHED_FRONTEND_CACHEFILES_H

#include <stdint.h>

#include "frontend/frontend.h"

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

/* The daemon reaches it through cachefiles_frontend_ops (frontend.h). */
struct cachefiles_frontend;

#endif
