/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keeping the cache filesystem from filling up, as cachefilesd does: below
 * bcull% free blocks (or fcull% free files) the least recently used cache
 * files that no mount uses are culled until brun% (frun%) are free again,
 * and then the volume directories (257 directories each, 1 MiB on ext4)
 * that hold no cache file and no mount uses;
 * below bstop% (fstop%) the kernel itself refuses to write. A thread of its
 * own checks every second, and at once after a write that left the space
 * low or found no room.
 */
#ifndef FSCACHED_FRONTEND_SPACE_H
#define FSCACHED_FRONTEND_SPACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <limits.h>

#include "cachefiles.h"
#include "space_index.h"
#include "space/culler.h"

struct cf_space_stats {
	uint64_t passes;		/* culling passes run */
	uint64_t culled;		/* cache files culled */
	uint64_t culled_bytes;
	uint64_t culled_volumes;	/* volume directories left empty */
};

/* A blob released from a volume: its file may be new. */
struct space_dirty {
	char vol[NAME_MAX + 1];		/* "Ierofs,<domain>" */
	char name[NAME_MAX + 1];	/* "D<blob id>" */
	uint64_t noted_us;
};

struct cf_space {
	int dev_fd;
	const char *cache_dir;
	struct space_culler culler;	/* and the limits it culls by */
	int cache_fd;			/* the culler thread's own */
	pthread_mutex_t lock;
	/*
	 * Whether a mount has blob @blob_id (NULL: any) open in volume
	 * @domain (NULL: any): never culled then.
	 */
	bool (*in_use)(void *ctx, const char *domain, const char *blob_id);
	void *in_use_ctx;
	struct cf_space_stats stats;	/* under lock */
	struct space_dirty *dirty;	/* under lock */
	size_t nr_dirty, cap_dirty;
	struct space_index index;	/* the culler thread's own */
};

int cf_space_start(struct cf_space *s, int dev_fd, const char *cache_dir,
		   const struct cache_limits *lim,
		   bool (*in_use)(void *ctx, const char *domain,
				  const char *blob_id), void *ctx);
void cf_space_stop(struct cf_space *s);
/* Blob @blob_id of volume @domain was released (its CLOSE). */
void cf_space_released(struct cf_space *s, const char *domain,
		       const char *blob_id);
void cf_space_stats(struct cf_space *s, struct cf_space_stats *st);

#endif
