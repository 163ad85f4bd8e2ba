/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A range of a blob filled by several workers at once, in pieces.
 *
 * The read-ahead window of a sequential reader is fetched before the
 * reader's READ is completed (background writes into the cache file while
 * the kernel reads a compressed image hang its unmount on 6.12, see
 * Documentation/design.md), so it must be fast: the worker that owns the
 * READ fills pieces itself and helpers queued on other workers take the
 * rest. The owner never waits for a helper that has not started, only for
 * pieces in progress, so a busy pool cannot deadlock it.
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
	unsigned int running;		/* pieces being filled */
	unsigned int refs;
	unsigned int filled, failed;	/* pieces, for the statistics */
	pthread_mutex_t lock;
	pthread_cond_t done;
};

/* A group for [off, off + len) of @bc in @piece sized parts, or NULL. */
struct fill_group *fill_group_create(struct blob_cache *bc, uint64_t off,
				     uint64_t len, uint64_t piece);
void fill_group_get(struct fill_group *g);
void fill_group_put(struct fill_group *g);
/* How many pieces the group has: at most that many helpers are useful. */
unsigned int fill_group_pieces(const struct fill_group *g);
/* Fill pieces until none is left to claim. */
void fill_group_run(struct fill_group *g, struct io_buf *buf);
/* Wait for the pieces others are filling; call after fill_group_run(). */
void fill_group_wait(struct fill_group *g);

#endif
