/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pool of worker threads draining one FIFO of work items (and a second,
 * low-priority one). Each worker owns a block-aligned I/O buffer that work
 * functions borrow, so a request needs no buffer allocation of its own.
 *
 * The pool has nr_workers threads, plus stand-ins: when demand work waits
 * and every worker has been busy with one item for WQ_STALL_MS (a backend
 * that stalls), a stand-in worker is started, up to max_workers in all, so
 * that one stalled blob cannot hold up every other. A stand-in ends after
 * WQ_STANDIN_IDLE_MS without work.
 */
#ifndef FSCACHED_WORKQUEUE_H
#define FSCACHED_WORKQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "io_buf.h"
#include "list.h"

#define WQ_STALL_MS		500
#define WQ_STANDIN_IDLE_MS	10000
/* Stand-ins allowed per fixed worker (0 turns them off: tests show why). */
#ifndef WQ_STANDINS_PER_WORKER
#define WQ_STANDINS_PER_WORKER	8
#endif

struct worker {
	struct workqueue *wq;
	pthread_t thread;
	unsigned int index;
	bool standin;
	uint64_t busy_since;	/* monotonic us; 0 while idle; under wq->lock */
	struct list_head node;	/* in wq->workers */
	struct io_buf buf;
};

struct work;
typedef void (*work_fn)(struct work *work, struct worker *worker);

struct work {
	struct list_head node;
	work_fn fn;
};

struct workqueue_stats {
	uint64_t standins_started;
	uint64_t standins_max;		/* most alive at once */
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t more;	/* work queued or stopping */
	pthread_cond_t idle;	/* queue empty and nobody busy */
	pthread_cond_t watch;	/* the stall watcher: all workers busy */
	pthread_cond_t gone;	/* a stand-in ended */
	struct list_head queue;
	struct list_head low;	/* runs only when queue is empty */
	unsigned int nr_workers;	/* fixed workers */
	unsigned int max_workers;	/* with stand-ins */
	unsigned int nr_running;	/* threads alive */
	unsigned int nr_standins;
	unsigned int next_index;
	unsigned int busy;
	bool stopping;
	bool watching;
	pthread_t watcher;
	size_t buf_size;
	struct list_head workers;
	struct workqueue_stats stats;
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
void workqueue_get_stats(struct workqueue *wq, struct workqueue_stats *st,
			 unsigned int *running);
/* Drains, then stops and joins the workers. */
void workqueue_destroy(struct workqueue *wq);

#endif
