/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fixed pool of worker threads draining one FIFO of work items. Each
 * worker owns a block-aligned I/O buffer that work functions borrow, so a
 * request needs no buffer allocation of its own.
 */
#ifndef FSCACHED_WORKQUEUE_H
#define FSCACHED_WORKQUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include "cache/cache.h"
#include "list.h"

struct worker {
	struct workqueue *wq;
	pthread_t thread;
	unsigned int index;
	struct io_buf buf;
};

struct work;
typedef void (*work_fn)(struct work *work, struct worker *worker);

struct work {
	struct list_head node;
	work_fn fn;
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t more;	/* work queued or stopping */
	pthread_cond_t idle;	/* queue empty and nobody busy */
	struct list_head queue;
	struct list_head low;	/* runs only when queue is empty */
	unsigned int nr_workers;
	unsigned int busy;
	bool stopping;
	struct worker *workers;
};

int workqueue_init(struct workqueue *wq, unsigned int nr_workers,
		   size_t buf_size);
void workqueue_queue(struct workqueue *wq, struct work *work, work_fn fn);
/* Background work: behind every item of workqueue_queue(). */
void workqueue_queue_low(struct workqueue *wq, struct work *work, work_fn fn);
/* Whether a workqueue_queue() item waits for a worker. */
bool workqueue_demand_pending(struct workqueue *wq);
/* Whether workqueue_destroy() has begun: background work should end. */
bool workqueue_stopping(struct workqueue *wq);
/* Waits until every queued work item has run. */
void workqueue_drain(struct workqueue *wq);
/* Drains, then stops and joins the workers. */
void workqueue_destroy(struct workqueue *wq);

#endif
