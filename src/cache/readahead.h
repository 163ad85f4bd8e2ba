/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sequential-read detection for one blob. The kernel only asks for holes
 * of the cache file, so whatever we write ahead of a sequential reader is
 * read without a request: after each demand read, readahead_plan() says
 * which range to fetch ahead (see fill_group.h for how). The fanotify
 * front end sees every read, present or not, and asks after each: its
 * next window starts while the reader is still inside the last one.
 */
#ifndef FSCACHED_READAHEAD_H
#define FSCACHED_READAHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A new stream's first window, unless its reads are bigger. */
#define READAHEAD_FIRST_WINDOW	(1ULL << 20)

struct readahead {
	pthread_mutex_t lock;
	uint64_t last_off;	/* where the stream's last read started */
	uint64_t seq_end;	/* end of the sequential stream so far */
	uint64_t ra_end;	/* how far ahead we have asked for */
	uint64_t cur;		/* window of the stream, grows to the max */
	bool disabled;
};

void readahead_init(struct readahead *ra);
void readahead_destroy(struct readahead *ra);
/* Never plan anything for this blob again. */
void readahead_disable(struct readahead *ra);
/*
 * A read of [off, off + len) of a blob of @size happened. Returns
 * true with the range to fetch ahead in @ra_off/@ra_len when the reader is
 * sequential and less than half its window is already ahead of it. The
 * window starts at READAHEAD_FIRST_WINDOW (or four reads) and doubles
 * with every plan, up to @window.
 */
bool readahead_plan(struct readahead *ra, uint64_t off, uint64_t len,
		    uint64_t size, uint64_t window, uint64_t *ra_off,
		    uint64_t *ra_len);

#endif
