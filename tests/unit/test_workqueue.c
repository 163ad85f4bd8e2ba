// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "lib/workqueue.h"

struct counted {
	struct work work;
	int *ran;
	unsigned int *workers_seen;
};

static struct workqueue wq_for_test;

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

struct stalling {
	struct work work;
	int *release;		/* the stalled items wait for it */
	int *ran;
};

static void stall_work(struct work *w, struct worker *worker)
{
	struct stalling *st = (struct stalling *)w;

	(void)worker;
	while (!__atomic_load_n(st->release, __ATOMIC_ACQUIRE))
		usleep(1000);
	__atomic_fetch_add(st->ran, 1, __ATOMIC_RELAXED);
}

static void quick_work(struct work *w, struct worker *worker)
{
	struct stalling *st = (struct stalling *)w;

	(void)worker;
	__atomic_fetch_add(st->ran, 1, __ATOMIC_RELAXED);
}

/*
 * Both workers stalled (a backend that does not answer): the demand item
 * queued behind them runs in a stand-in, long before the stall ends.
 */
TEST(a_stalled_pool_starts_a_stand_in_for_waiting_work)
{
	struct stalling stalled[2], quick;
	struct workqueue_stats st;
	int release = 0, ran = 0, quick_ran = 0, i;
	unsigned int running;

	ASSERT_EQ(0, workqueue_init(&wq_for_test, 2, 4096));
	for (i = 0; i < 2; i++) {
		stalled[i].release = &release;
		stalled[i].ran = &ran;
		workqueue_queue(&wq_for_test, &stalled[i].work, stall_work);
	}
	quick.ran = &quick_ran;
	workqueue_queue(&wq_for_test, &quick.work, quick_work);
	for (i = 0; i < 100 && !__atomic_load_n(&quick_ran, __ATOMIC_RELAXED); i++)
		usleep(50000);
	EXPECT_EQ(1, quick_ran);
	EXPECT_EQ(0, __atomic_load_n(&ran, __ATOMIC_RELAXED));
	workqueue_get_stats(&wq_for_test, &st, &running);
	EXPECT_EQ(1, st.standins_started);
	EXPECT_EQ(3, running);
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	workqueue_drain(&wq_for_test);
	EXPECT_EQ(2, ran);
	/* The stand-in is still there (idle, not yet timed out): destroy
	 * must wait for it. */
	workqueue_destroy(&wq_for_test);
}

/* Busy, but not stalled: short items never start a stand-in. */
TEST(a_busy_pool_starts_no_stand_in)
{
	static struct stalling items[20000];
	struct workqueue_stats st;
	unsigned int running;
	int ran = 0, i;

	ASSERT_EQ(0, workqueue_init(&wq_for_test, 2, 4096));
	for (i = 0; i < 20000; i++) {
		items[i].ran = &ran;
		workqueue_queue(&wq_for_test, &items[i].work, quick_work);
	}
	workqueue_drain(&wq_for_test);
	workqueue_get_stats(&wq_for_test, &st, &running);
	EXPECT_EQ(20000, ran);
	EXPECT_EQ(0, st.standins_started);
	EXPECT_EQ(2, running);
	workqueue_destroy(&wq_for_test);
}

/* How many pages of [p, p + len) are in memory. */
static size_t resident_pages(void *p, size_t len)
{
	size_t pages = len / (size_t)sysconf(_SC_PAGESIZE), i, n = 0;
	unsigned char *vec = calloc(pages, 1);

	if (!vec || mincore(p, len, vec))
		abort();
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

/*
 * A page fault a page cost 10-14 us on this project's VMs: a buffer is
 * populated in one call, but only once it is used, so that an idle daemon
 * stays small.
 */
TEST(an_io_buf_is_populated_in_one_go_when_asked)
{
	size_t pages = (1 << 20) / (size_t)sysconf(_SC_PAGESIZE);
	struct io_buf buf;

	ASSERT_EQ(0, io_buf_init(&buf, 1 << 20));
	EXPECT_EQ(0, (unsigned long)buf.data & 4095);
	EXPECT_EQ(0, resident_pages(buf.data, buf.size));
	io_buf_populate(&buf);
	EXPECT_TRUE(buf.populated);
	EXPECT_EQ(pages, resident_pages(buf.data, buf.size));
	io_buf_release(&buf);
	EXPECT_EQ(NULL, buf.data);
}

struct resident_seen {
	struct work work;
	size_t pages;
};

static void resident_work(struct work *w, struct worker *worker)
{
	struct resident_seen *r = (struct resident_seen *)w;

	r->pages = resident_pages(worker->buf.data, worker->buf.size);
}

TEST(a_worker_buffer_is_in_memory_before_its_first_work)
{
	size_t pages = (1 << 20) / (size_t)sysconf(_SC_PAGESIZE);
	struct resident_seen r = { .pages = 0 };
	struct workqueue wq;

	ASSERT_EQ(0, workqueue_init(&wq, 1, 1 << 20));
	workqueue_queue(&wq, &r.work, resident_work);
	workqueue_drain(&wq);
	EXPECT_EQ(pages, r.pages);
	workqueue_destroy(&wq);
}

TEST(zero_workers_is_an_error)
{
	struct workqueue wq;

	EXPECT_NE(0, workqueue_init(&wq, 0, 4096));
}

TEST_HARNESS_MAIN
