// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>

#include "lib/compiler.h"
#include "range_lock.h"

void range_lock_init(struct range_lock *rl)
{
	pthread_mutex_init(&rl->lock, NULL);
	pthread_cond_init(&rl->released, NULL);
	rl->nr = 0;
	rl->waits = 0;
}

void range_lock_destroy(struct range_lock *rl)
{
	pthread_cond_destroy(&rl->released);
	pthread_mutex_destroy(&rl->lock);
}

static bool range_lock_busy(struct range_lock *rl, uint64_t start,
			    uint64_t end)
{
	unsigned int i;

	if (rl->nr == RANGE_LOCK_SLOTS)
		return true;
	for (i = 0; i < rl->nr; i++)
		if (start < rl->ranges[i].end && rl->ranges[i].start < end)
			return true;
	return false;
}

/* Under the lock, with a free slot (range_lock_busy() said so). */
static void range_lock_take(struct range_lock *rl, uint64_t start,
			    uint64_t end)
{
	rl->ranges[rl->nr].start = start;
	rl->ranges[rl->nr].end = end;
	rl->nr++;
}

/*
 * No fill holds a range while it waits for another, so waiting cannot
 * deadlock: every range in the set belongs to a fill that is fetching.
 */
void range_lock_acquire(struct range_lock *rl, uint64_t start, uint64_t end)
{
	pthread_mutex_lock(&rl->lock);
	if (range_lock_busy(rl, start, end))
		counter_add(&rl->waits, 1);
	while (range_lock_busy(rl, start, end))
		pthread_cond_wait(&rl->released, &rl->lock);
	range_lock_take(rl, start, end);
	pthread_mutex_unlock(&rl->lock);
}

bool range_lock_try(struct range_lock *rl, uint64_t start, uint64_t end)
{
	bool taken;

	pthread_mutex_lock(&rl->lock);
	taken = !range_lock_busy(rl, start, end);
	if (taken)
		range_lock_take(rl, start, end);
	pthread_mutex_unlock(&rl->lock);
	return taken;
}

/* The slot of a held range, or rl->nr when it is not held; under the lock. */
static unsigned int range_lock_slot(struct range_lock *rl, uint64_t start,
				    uint64_t end)
{
	unsigned int i;

	for (i = 0; i < rl->nr; i++)
		if (rl->ranges[i].start == start && rl->ranges[i].end == end)
			break;
	return i;
}

void range_lock_advance(struct range_lock *rl, uint64_t *start, uint64_t end,
			uint64_t to)
{
	unsigned int i;

	to = MIN(to, end);
	if (to <= *start)
		return;
	pthread_mutex_lock(&rl->lock);
	i = range_lock_slot(rl, *start, end);
	if (i < rl->nr)
		rl->ranges[i].start = to;
	*start = to;
	pthread_cond_broadcast(&rl->released);
	pthread_mutex_unlock(&rl->lock);
}

void range_lock_release(struct range_lock *rl, uint64_t start, uint64_t end)
{
	unsigned int i;

	pthread_mutex_lock(&rl->lock);
	i = range_lock_slot(rl, start, end);
	if (i < rl->nr)
		rl->ranges[i] = rl->ranges[--rl->nr];
	pthread_cond_broadcast(&rl->released);
	pthread_mutex_unlock(&rl->lock);
}
