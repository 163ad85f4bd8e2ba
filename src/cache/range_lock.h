/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ranges of a blob being fetched right now. A fill that overlaps one
 * waits for it instead of fetching the same bytes again, then fills only
 * what is still missing: two requests for one range fetch it once.
 */
#ifndef FSCACHED_RANGE_LOCK_H
#define FSCACHED_RANGE_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RANGE_LOCK_SLOTS	64

struct range_lock {
	pthread_mutex_t lock;
	pthread_cond_t released;
	unsigned int nr;
	struct {
		uint64_t start, end;
	} ranges[RANGE_LOCK_SLOTS];
	uint64_t waits;			/* times a fill waited for another */
};

void range_lock_init(struct range_lock *rl);
void range_lock_destroy(struct range_lock *rl);
/* Waits until nothing in flight overlaps [start, end), then takes it. */
void range_lock_acquire(struct range_lock *rl, uint64_t start, uint64_t end);
/* Takes [start, end) if nothing in flight overlaps it; false otherwise. */
bool range_lock_try(struct range_lock *rl, uint64_t start, uint64_t end);
/*
 * A fill that has written everything below @to gives that part up, and
 * fills waiting for it go on: a reader inside a long streamed range waits
 * for its own bytes, not for the whole range. Moves *@start to @to.
 */
void range_lock_advance(struct range_lock *rl, uint64_t *start, uint64_t end,
			uint64_t to);
void range_lock_release(struct range_lock *rl, uint64_t start, uint64_t end);

#endif
