// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "cache_int.h"
#include "lib/compiler.h"
#include "fill_group.h"

struct fill_group *fill_group_create(struct blob_cache *bc, uint64_t off,
				     uint64_t len, uint64_t piece)
{
	struct fill_group *g;

	if (!len || !piece)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	blob_cache_get(bc);
	g->bc = bc;
	g->next = off;
	g->end = off + len;
	g->piece = piece;
	g->refs = 1;
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

struct fill_group *fill_group_readahead(struct blob_cache *bc, uint64_t off,
					uint64_t len, uint64_t window,
					unsigned int workers, uint64_t buf_size,
					unsigned int *shares)
{
	uint64_t ra_off, ra_len;
	struct fill_group *g;

	if (!window || !blob_cache_readahead(bc, off, len, window, &ra_off,
					     &ra_len))
		return NULL;
	/*
	 * A window over what is there already (a remount's reader) would
	 * only hold its range, and send readers of it to the workers.
	 */
	if (blob_cache_present(bc, ra_off, ra_len))
		return NULL;
	g = fill_group_create(bc, ra_off, ra_len,
			      blob_cache_piece_size(bc, ra_off, ra_len, workers,
						    buf_size));
	if (g)
		*shares = MIN(fill_group_pieces(g), workers);
	return g;
}

void fill_group_get(struct fill_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->refs++;
	pthread_mutex_unlock(&g->lock);
}

void fill_group_put(struct fill_group *g)
{
	unsigned int refs;

	pthread_mutex_lock(&g->lock);
	refs = --g->refs;
	pthread_mutex_unlock(&g->lock);
	if (refs)
		return;
	blob_cache_put(g->bc);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

unsigned int fill_group_pieces(const struct fill_group *g)
{
	return (g->end - g->next + g->piece - 1) / g->piece;
}

static bool fill_group_claim(struct fill_group *g, uint64_t *off,
			     uint64_t *len)
{
	bool claimed = false;

	pthread_mutex_lock(&g->lock);
	if (g->next < g->end) {
		*off = g->next;
		*len = MIN(g->piece, g->end - g->next);
		g->next += *len;
		claimed = true;
	}
	pthread_mutex_unlock(&g->lock);
	return claimed;
}

struct fill_counts fill_group_run(struct fill_group *g, struct io_buf *buf)
{
	struct fill_counts c = { 0, 0 };
	uint64_t off, len;
	int ret;

	while (fill_group_claim(g, &off, &len)) {
		/* A failed piece is the demand read's business, later. */
		ret = blob_cache_fill(g->bc, off, len, buf, FILL_READAHEAD);
		if (ret)
			c.failed++;
		else
			c.filled++;
	}
	return c;
}
