/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A range of a blob filled by several workers at once, in pieces: the
 * read-ahead window of a sequential reader, which helpers queued behind
 * every demand request fetch in the background. Whoever wants the whole
 * range in (a test, a caller that must not return before) runs pieces
 * itself and then waits only for pieces in progress, never for a helper
 * that has not started, so a busy pool cannot deadlock it.
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
struct fill_counts {
	unsigned int filled, failed;
};

/* Fill pieces until none is left to claim; returns what this call did. */
struct fill_counts fill_group_run(struct fill_group *g, struct io_buf *buf);
/* Wait for the pieces others are filling; call after fill_group_run(). */
void fill_group_wait(struct fill_group *g);

#endif
