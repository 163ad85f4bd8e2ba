// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "harness.h"
#include "workqueue.h"

struct counted {
	struct work work;
	int *ran;
	unsigned int *workers_seen;
};

static void count_work(struct work *w, struct worker *worker)
{
	struct counted *c = (struct counted *)w;

	__atomic_fetch_add(c->ran, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(c->workers_seen, 1U << worker->index,
			  __ATOMIC_RELAXED);
	/* Every worker has its own block-aligned buffer to use. */
	((char *)worker->buf.data)[0] = 1;
	if (((unsigned long)worker->buf.data & 4095) != 0)
		abort();
}

TEST(every_item_runs_once_and_drain_waits)
{
	static struct counted items[2000];
	struct workqueue wq;
	unsigned int seen = 0;
	int ran[2000] = { 0 };
	int i, total = 0;

	ASSERT_EQ(0, workqueue_init(&wq, 4, 65536));
	for (i = 0; i < 2000; i++) {
		items[i].ran = &ran[i];
		items[i].workers_seen = &seen;
		workqueue_queue(&wq, &items[i].work, count_work);
	}
	workqueue_drain(&wq);
	for (i = 0; i < 2000; i++) {
		EXPECT_EQ(1, ran[i]);
		total += ran[i];
	}
	EXPECT_EQ(2000, total);
	EXPECT_NE(0, seen);
	workqueue_destroy(&wq);
}

TEST(zero_workers_is_an_error)
{
	struct workqueue wq;

	EXPECT_NE(0, workqueue_init(&wq, 0, 4096));
}

TEST_HARNESS_MAIN
