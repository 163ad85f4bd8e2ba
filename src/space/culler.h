/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The culling thread every front end runs over its own store: a pass each
 * second, and one at once when a fill leaves the cache low
 * (space_culler_wrote()) or finds no room (space_culler_make_room(), which
 * waits for it). What a pass removes, and how, is the store's: cachefiles
 * culls through its device, fanotify unlinks blob files.
 */
#ifndef FSCACHED_SPACE_CULLER_H
#define FSCACHED_SPACE_CULLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "watermarks.h"

struct space_store_ops {
	/* One pass, on the culler's thread: cull if the cache is low; how many went. */
	unsigned int (*pass)(void *ctx);
	/* On the thread before its first pass, and as it ends; may be NULL. */
	void (*begin)(void *ctx);
	void (*end)(void *ctx);
};

struct space_culler {
	const struct space_store_ops *ops;
	void *ctx;
	const char *dir;		/* on the cache filesystem */
	struct cache_limits limits;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t kick, done;
	bool stopping, kicked;
	unsigned long passes_started, passes_done;
	uint64_t culled;		/* by every pass */
	/* A fill found no room, with full_bfree blocks free. */
	bool full;
	fsblkcnt_t full_bfree;
};

/*
 * Start culling the cache filesystem of @dir by @limits through @ops; with
 * limits->off no thread runs, and the calls below do nothing.
 */
int space_culler_start(struct space_culler *c, const char *dir,
		       const struct cache_limits *limits,
		       const struct space_store_ops *ops, void *ctx);
void space_culler_stop(struct space_culler *c);
/* A fill wrote to the cache: below the culling watermarks, a pass now. */
void space_culler_wrote(struct space_culler *c);
/*
 * A fill found no room: a whole pass that starts after now, waited for (up
 * to @ms). Whether anything was culled meanwhile (else trying again is no
 * use).
 */
bool space_culler_make_room(struct space_culler *c, unsigned int ms);
/*
 * A fill found no room with what is free now: until more is free,
 * space_culler_full() says so, and fills are not tried. Each try on a full
 * ext4 costs journal commits, and the fetch before it. Also with culling
 * off.
 */
void space_culler_note_full(struct space_culler *c);
bool space_culler_full(struct space_culler *c);

#endif
