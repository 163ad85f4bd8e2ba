/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole-blob digest checks of lazily filled cache files. A blob named by
 * its sha256 whose cache file was whole when the kernel closed it is
 * hashed once cachefiles has linked the file in (at the blob's release;
 * while in use it has no name, and the anonymous fd cannot be read), and
 * a file with other bytes is culled, so the next mount fetches it again.
 * A file that passed is marked (xattr user.fscached.sha256) and not read
 * again. With cache.validate nothing unchecked is written: no recheck.
 */
#ifndef FSCACHED_FRONTEND_RECHECK_H
#define FSCACHED_FRONTEND_RECHECK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/list.h"

/* How long to wait for the kernel to link a released cache file. */
#define CF_RECHECK_WAIT_MS	10000
#define CF_RECHECK_XATTR	"user.fscached.sha256"

struct cf_recheck_stats {
	uint64_t checked;	/* whole cache files hashed */
	uint64_t mismatches;	/* ... whose bytes were not their digest */
	uint64_t culled;	/* ... and were culled */
	uint64_t missed;	/* never appeared, or could not be read */
};

struct cf_recheck {
	int dev_fd;
	char *cache_dir;
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct list_head queue;
	bool stopping;
	pthread_t thread;
	struct cf_recheck_stats stats;
};

int cf_recheck_start(struct cf_recheck *r, int dev_fd, const char *cache_dir);
/* Blob @id of volume @domain was whole at its CLOSE: check it. */
void cf_recheck_queue(struct cf_recheck *r, const char *domain,
		      const char *id, uint64_t size);
/* Drops what is queued; waits for a check under way. */
void cf_recheck_stop(struct cf_recheck *r);
void cf_recheck_get_stats(struct cf_recheck *r, struct cf_recheck_stats *st);

#endif
