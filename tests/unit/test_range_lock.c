// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "cache/range_lock.h"

#define MIB		(1ULL << 20)
#define WAIT_MS		10000

struct waiter {
	struct range_lock *rl;
	uint64_t start, end;
	pthread_t thread;
	int acquired;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	range_lock_acquire(w->rl, w->start, w->end);
	__atomic_store_n(&w->acquired, 1, __ATOMIC_RELEASE);
	range_lock_release(w->rl, w->start, w->end);
	return NULL;
}

/* Until *@flag is set, or WAIT_MS went by: whether it was. */
static int wait_flag(int *flag)
{
	int i;

	for (i = 0; i < WAIT_MS && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Until @n fills have found their range busy. */
static uint64_t wait_waits(struct range_lock *rl, uint64_t n)
{
	int i;

	for (i = 0; i < WAIT_MS && __atomic_load_n(&rl->waits, __ATOMIC_RELAXED) < n; i++)
		usleep(1000);
	return __atomic_load_n(&rl->waits, __ATOMIC_RELAXED);
}

/*
 * A 16 MiB streamed fill gives up what it has written: a reader of its
 * first 4 MiB goes on once 4 MiB are in, not when all 16 are, and not
 * while its bytes straddle what is written; one of 8-10 MiB once the fill
 * is past it.
 */
TEST(an_advancing_fill_lets_waiters_below_it_go)
{
	struct range_lock rl;
	struct waiter head = { .rl = &rl, .start = 0, .end = 4 * MIB };
	struct waiter tail = { .rl = &rl, .start = 8 * MIB, .end = 10 * MIB };
	uint64_t start = 0, end = 16 * MIB;

	range_lock_init(&rl);
	range_lock_acquire(&rl, start, end);
	ASSERT_EQ(0, pthread_create(&head.thread, NULL, waiter_main, &head));
	ASSERT_EQ(0, pthread_create(&tail.thread, NULL, waiter_main, &tail));
	ASSERT_EQ(2, wait_waits(&rl, 2));

	range_lock_advance(&rl, &start, end, 2 * MIB);
	EXPECT_EQ(2 * MIB, start);
	EXPECT_EQ(0, __atomic_load_n(&head.acquired, __ATOMIC_ACQUIRE));

	range_lock_advance(&rl, &start, end, 4 * MIB);
	EXPECT_EQ(1, wait_flag(&head.acquired));
	EXPECT_EQ(0, __atomic_load_n(&tail.acquired, __ATOMIC_ACQUIRE));

	/* Going back is not possible; going past the end stops at it. */
	range_lock_advance(&rl, &start, end, 1 * MIB);
	EXPECT_EQ(4 * MIB, start);
	range_lock_advance(&rl, &start, end, 12 * MIB);
	EXPECT_EQ(1, wait_flag(&tail.acquired));
	range_lock_advance(&rl, &start, end, 20 * MIB);
	EXPECT_EQ(end, start);

	range_lock_release(&rl, start, end);
	pthread_join(head.thread, NULL);
	pthread_join(tail.thread, NULL);
	/* Nothing is held: a fill of everything goes at once. */
	range_lock_acquire(&rl, 0, end);
	range_lock_release(&rl, 0, end);
	EXPECT_EQ(2, rl.waits);
	range_lock_destroy(&rl);
}

TEST(a_try_takes_only_what_nothing_holds)
{
	struct range_lock rl;

	range_lock_init(&rl);
	range_lock_acquire(&rl, 4 * MIB, 8 * MIB);
	EXPECT_FALSE(range_lock_try(&rl, 0, 4 * MIB + 1));
	EXPECT_FALSE(range_lock_try(&rl, 7 * MIB, 9 * MIB));
	EXPECT_TRUE(range_lock_try(&rl, 0, 4 * MIB));
	EXPECT_TRUE(range_lock_try(&rl, 8 * MIB, 9 * MIB));
	/* What a try took is held like any other range. */
	EXPECT_FALSE(range_lock_try(&rl, 8 * MIB + 1, 8 * MIB + 2));
	range_lock_release(&rl, 4 * MIB, 8 * MIB);
	EXPECT_TRUE(range_lock_try(&rl, 5 * MIB, 6 * MIB));
	range_lock_release(&rl, 5 * MIB, 6 * MIB);
	range_lock_release(&rl, 0, 4 * MIB);
	range_lock_release(&rl, 8 * MIB, 9 * MIB);
	EXPECT_EQ(0, rl.nr);
	EXPECT_EQ(0, rl.waits);
	range_lock_destroy(&rl);
}

TEST_HARNESS_MAIN
