// SPDX-License-Identifier: GPL-2.0
#include "lib/compiler.h"
#include "readahead.h"

void readahead_init(struct readahead *ra)
{
	pthread_mutex_init(&ra->lock, NULL);
	ra->last_off = 0;
	ra->seq_end = 0;
	ra->ra_end = 0;
	ra->cur = 0;
	ra->disabled = false;
}

void readahead_destroy(struct readahead *ra)
{
	pthread_mutex_destroy(&ra->lock);
}

void readahead_disable(struct readahead *ra)
{
	pthread_mutex_lock(&ra->lock);
	ra->disabled = true;
	pthread_mutex_unlock(&ra->lock);
}

bool readahead_plan(struct readahead *ra, uint64_t off, uint64_t len,
		    uint64_t size, uint64_t window, uint64_t *ra_off,
		    uint64_t *ra_len)
{
	uint64_t end = off + len, start, stop, cur;
	bool sequential, plan = false;

	if (!window || !len)
		return false;
	pthread_mutex_lock(&ra->lock);
	if (ra->disabled)
		goto out;
	/*
	 * Sequential: the read goes on from the stream's last one, up to
	 * where the stream ended or inside what we fetched ahead (the first
	 * hole after our read-ahead). A front end that sees reads of present
	 * ranges too (fanotify) also sees the rest of a fetch unit read.
	 */
	sequential = off >= ra->last_off &&
		     off <= MAX(ra->seq_end, ra->ra_end);
	ra->last_off = off;
	if (sequential) {
		ra->seq_end = MAX(ra->seq_end, end);
		/*
		 * Ramp up like the page cache does: a stream earns a big
		 * window by going on, so a mount's first read or a short
		 * run costs a small one.
		 */
		cur = ra->cur ? ra->cur
			      : MIN(MAX(4 * len, READAHEAD_FIRST_WINDOW), window);
		start = MAX(end, ra->ra_end);
		if (start - end < cur / 2) {
			if (ra->cur)
				cur = MIN(cur * 2, window);
			stop = MIN(end + cur, size);
			if (stop > start) {
				*ra_off = start;
				*ra_len = stop - start;
				ra->ra_end = stop;
				ra->cur = cur;
				plan = true;
			}
		}
	} else {
		/*
		 * A new stream starts here; its next read will be sequential.
		 * What was fetched ahead elsewhere stays in the cache file.
		 */
		ra->seq_end = end;
		ra->ra_end = end;
		ra->cur = 0;
	}
out:
	pthread_mutex_unlock(&ra->lock);
	return plan;
}
