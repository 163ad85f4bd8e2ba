/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The demand fill both front ends answer a read with, whatever told them
 * of it (a cachefiles READ, a fanotify pre-content event): the range is
 * filled through the cache's room, culled for when there is none.
 */
#ifndef FSCACHED_CACHE_SERVE_H
#define FSCACHED_CACHE_SERVE_H

#include <stdint.h>

#include "cache.h"
#include "space/culler.h"

/* How long a fill that found no room waits for a culling pass. */
#define SERVE_ROOM_WAIT_MS	5000

/*
 * Fill [@off, +@len) of @bc for a reader. Where the cache filesystem has
 * no room, a culling pass of @room is waited for, and the fill tried once
 * more if it culled anything; once it is full, fills are not tried until
 * more is free. @no_room counts the fills that found none. 0 or -errno.
 */
int serve_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
	       struct io_buf *buf, struct space_culler *room,
	       uint64_t *no_room);
/* Whether @err says that the cache filesystem has no room. */
bool serve_no_room(int err);

#endif
