/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole-blob prefetch: after a blob's first read, fill all of it in the
 * background, in batch_size pieces run by up to `threads` workers as
 * low-priority work (behind every demand request), paced to
 * bandwidth_limit bytes per second.
 *
 * Pieces are claimed from the end of the blob downwards: the data of the
 * cache file then only ever grows as one suffix, never as data followed by
 * a hole (which a compressed image cannot take, see blob_cache_inspect()).
 * For a compressed image one piece runs at a time, so that holds while
 * pieces are in flight too.
 */
#ifndef FSCACHED_PREFETCH_H
#define FSCACHED_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

struct blob_cache;
struct prefetch;
struct workqueue;

#define PREFETCH_DEFAULT_THREADS	2
#define PREFETCH_DEFAULT_BATCH		(1ULL << 20)
#define PREFETCH_MIN_BATCH		(256ULL << 10)

/*
 * Start prefetching @bc on @wq if its configuration asks for it and it has
 * not started yet. Returns true if it started now.
 */
bool prefetch_maybe_start(struct blob_cache *bc, struct workqueue *wq);
/* Stop @bc's prefetch: nothing more is claimed; pieces in flight finish. */
void prefetch_stop(struct blob_cache *bc);

#endif
