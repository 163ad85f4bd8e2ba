/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A range of a blob filled by several workers at once, in pieces: the
 * read-ahead window of a sequential reader, which jobs queued behind every
 * demand request fetch in the background. Each job claims pieces until
 * none is left, so however many of them run, each piece is fetched once.
 */
#ifndef FSCACHED_FILL_GROUP_H
#define FSCACHED_FILL_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct blob_cache;
struct io_buf;

struct fill_group {
	struct blob_cache *bc;		/* a reference of ours */
	uint64_t next, end;		/* what is left to claim */
	uint64_t piece;
	unsigned int refs;
	pthread_mutex_t lock;
};

/* A group for [off, off + len) of @bc in @piece sized parts, or NULL. */
struct fill_group *fill_group_create(struct blob_cache *bc, uint64_t off,
				     uint64_t len, uint64_t piece);
/*
 * After a read of [off, off + len) of @bc: the read-ahead window to fetch
 * ahead of a sequential reader (blob_cache_readahead(), up to @window
 * bytes; 0: none), as a group cut for @workers workers with @buf_size
 * buffers. NULL when there is none, or when all of it is present; else
 * @shares says how many helpers to queue on it.
 */
struct fill_group *fill_group_readahead(struct blob_cache *bc, uint64_t off,
					uint64_t len, uint64_t window,
					unsigned int workers, uint64_t buf_size,
					unsigned int *shares);
void fill_group_get(struct fill_group *g);
void fill_group_put(struct fill_group *g);
/* How many pieces the group has: at most that many helpers are useful. */
unsigned int fill_group_pieces(const struct fill_group *g);
struct fill_counts {
	unsigned int filled, failed;
};

/* Fill pieces until none is left to claim; returns what this call did. */
struct fill_counts fill_group_run(struct fill_group *g, struct io_buf *buf);

#endif
