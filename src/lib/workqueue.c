// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "log.h"
#include "workqueue.h"

static bool workqueue_empty(const struct workqueue *wq)
{
	return list_empty(&wq->queue) && list_empty(&wq->low);
}

/* With wq->lock held: demand work waits and no worker is free. */
static void workqueue_poke_watcher(struct workqueue *wq)
{
	if (!wq->watching && !list_empty(&wq->queue) &&
	    wq->busy >= wq->nr_running)
		pthread_cond_signal(&wq->watch);
}

/*
 * Wait for work with wq->lock held. A stand-in gives up after
 * WQ_STANDIN_IDLE_MS: false means it should end.
 */
static bool worker_wait(struct worker *worker)
{
	struct workqueue *wq = worker->wq;
	struct timespec until;

	if (!worker->standin) {
		pthread_cond_wait(&wq->more, &wq->lock);
		return true;
	}
	timespec_in_us(CLOCK_REALTIME, WQ_STANDIN_IDLE_MS * 1000ULL, &until);
	return pthread_cond_timedwait(&wq->more, &wq->lock, &until) != ETIMEDOUT ||
	       !workqueue_empty(wq);
}

static void *worker_main(void *arg)
{
	struct worker *worker = arg;
	struct workqueue *wq = worker->wq;
	struct work *work;

	pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (workqueue_empty(wq) && !wq->stopping)
			if (!worker_wait(worker))
				goto out;
		if (!list_empty(&wq->queue))
			work = list_first_entry(&wq->queue, struct work, node);
		else if (!list_empty(&wq->low))
			work = list_first_entry(&wq->low, struct work, node);
		else
			break;
		list_del(&work->node);
		wq->busy++;
		worker->busy_since = monotonic_us();
		workqueue_poke_watcher(wq);
		pthread_mutex_unlock(&wq->lock);

		/* Here, not at start: an idle daemon keeps its RSS small. */
		io_buf_populate(&worker->buf);
		work->fn(work, worker);

		pthread_mutex_lock(&wq->lock);
		wq->busy--;
		worker->busy_since = 0;
		if (!wq->busy && workqueue_empty(wq))
			pthread_cond_broadcast(&wq->idle);
	}
out:
	wq->nr_running--;
	if (worker->standin) {
		list_del(&worker->node);
		wq->nr_standins--;
		pthread_cond_broadcast(&wq->gone);
	}
	pthread_mutex_unlock(&wq->lock);
	if (worker->standin) {
		io_buf_release(&worker->buf);
		free(worker);
	}
	return NULL;
}

/* Called with wq->lock held. */
static void workqueue_start_standin(struct workqueue *wq)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	int ret;

	if (!w || io_buf_init(&w->buf, wq->buf_size)) {
		free(w);
		return;
	}
	w->wq = wq;
	w->standin = true;
	w->index = wq->next_index++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (ret) {
		io_buf_release(&w->buf);
		free(w);
		return;
	}
	list_add_tail(&w->node, &wq->workers);
	wq->nr_running++;
	wq->nr_standins++;
	wq->stats.standins_started++;
	wq->stats.standins_max = MAX(wq->stats.standins_max,
				     (uint64_t)wq->nr_standins);
	log_debug("every worker has been busy for %u ms with demand work waiting: stand-in worker %u started (%u running)",
		  WQ_STALL_MS, w->index, wq->nr_running);
}

/*
 * With wq->lock held: the start of the newest busy item when demand work
 * waits and no worker is free, else 0.
 */
static uint64_t workqueue_all_busy_since(struct workqueue *wq)
{
	uint64_t newest = 0;
	struct worker *w;

	if (list_empty(&wq->queue) || wq->busy < wq->nr_running)
		return 0;
	list_for_each_entry(w, &wq->workers, node) {
		if (!w->busy_since)
			return 0;
		newest = MAX(newest, w->busy_since);
	}
	return newest;
}

static void *workqueue_watch(void *arg)
{
	struct workqueue *wq = arg;
	struct timespec until;
	uint64_t since, now;

	pthread_mutex_lock(&wq->lock);
	while (!wq->stopping) {
		since = workqueue_all_busy_since(wq);
		if (!since) {
			wq->watching = false;
			pthread_cond_wait(&wq->watch, &wq->lock);
			continue;
		}
		wq->watching = true;
		now = monotonic_us();
		if (now - since >= WQ_STALL_MS * 1000ULL &&
		    wq->nr_running < wq->max_workers) {
			workqueue_start_standin(wq);
			/* Give it the time to take an item. */
			since = now;
		}
		timespec_in_us(CLOCK_REALTIME, 100 * 1000, &until);
		pthread_cond_timedwait(&wq->watch, &wq->lock, &until);
	}
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

int workqueue_init(struct workqueue *wq, unsigned int nr_workers,
		   size_t buf_size)
{
	struct worker *w;
	unsigned int i;
	int ret;

	memset(wq, 0, sizeof(*wq));
	if (!nr_workers)
		return -EINVAL;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->more, NULL);
	pthread_cond_init(&wq->idle, NULL);
	pthread_cond_init(&wq->watch, NULL);
	pthread_cond_init(&wq->gone, NULL);
	list_init(&wq->queue);
	list_init(&wq->low);
	list_init(&wq->workers);
	wq->buf_size = buf_size;
	wq->max_workers = nr_workers * (1 + WQ_STANDINS_PER_WORKER);
	wq->next_index = nr_workers;
	for (i = 0; i < nr_workers; i++) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			ret = -ENOMEM;
			goto err_stop;
		}
		w->wq = wq;
		w->index = i;
		ret = io_buf_init(&w->buf, buf_size);
		if (ret) {
			free(w);
			goto err_stop;
		}
		pthread_mutex_lock(&wq->lock);
		ret = -pthread_create(&w->thread, NULL, worker_main, w);
		if (!ret) {
			list_add_tail(&w->node, &wq->workers);
			wq->nr_workers++;
			wq->nr_running++;
		}
		pthread_mutex_unlock(&wq->lock);
		if (ret) {
			io_buf_release(&w->buf);
			free(w);
			goto err_stop;
		}
	}
	ret = -pthread_create(&wq->watcher, NULL, workqueue_watch, wq);
	if (ret)
		goto err_stop;
	return 0;

err_stop:
	workqueue_destroy(wq);
	return ret;
}

static void workqueue_add(struct workqueue *wq, struct list_head *list,
			  struct work *work, work_fn fn)
{
	work->fn = fn;
	pthread_mutex_lock(&wq->lock);
	list_add_tail(&work->node, list);
	pthread_cond_signal(&wq->more);
	workqueue_poke_watcher(wq);
	pthread_mutex_unlock(&wq->lock);
}

void workqueue_queue(struct workqueue *wq, struct work *work, work_fn fn)
{
	workqueue_add(wq, &wq->queue, work, fn);
}

void workqueue_queue_low(struct workqueue *wq, struct work *work, work_fn fn)
{
	workqueue_add(wq, &wq->low, work, fn);
}

bool workqueue_demand_pending(struct workqueue *wq)
{
	bool pending;

	pthread_mutex_lock(&wq->lock);
	pending = !list_empty(&wq->queue);
	pthread_mutex_unlock(&wq->lock);
	return pending;
}

bool workqueue_stopping(struct workqueue *wq)
{
	return __atomic_load_n(&wq->stopping, __ATOMIC_RELAXED);
}

void workqueue_drain(struct workqueue *wq)
{
	pthread_mutex_lock(&wq->lock);
	while (wq->busy || !workqueue_empty(wq))
		pthread_cond_wait(&wq->idle, &wq->lock);
	pthread_mutex_unlock(&wq->lock);
}

void workqueue_get_stats(struct workqueue *wq, struct workqueue_stats *st,
			 unsigned int *running)
{
	pthread_mutex_lock(&wq->lock);
	*st = wq->stats;
	*running = wq->nr_running;
	pthread_mutex_unlock(&wq->lock);
}

void workqueue_destroy(struct workqueue *wq)
{
	struct worker *w, *n;
	struct list_head fixed;

	if (!wq->max_workers)
		return;
	pthread_mutex_lock(&wq->lock);
	__atomic_store_n(&wq->stopping, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&wq->more);
	pthread_cond_broadcast(&wq->watch);
	pthread_mutex_unlock(&wq->lock);
	if (wq->watcher)
		pthread_join(wq->watcher, NULL);
	/* Stand-ins leave the list by themselves; fixed workers stay. */
	pthread_mutex_lock(&wq->lock);
	while (wq->nr_standins)
		pthread_cond_wait(&wq->gone, &wq->lock);
	list_init(&fixed);
	list_for_each_entry_safe(w, n, &wq->workers, node) {
		list_del(&w->node);
		list_add_tail(&w->node, &fixed);
	}
	pthread_mutex_unlock(&wq->lock);
	list_for_each_entry_safe(w, n, &fixed, node) {
		pthread_join(w->thread, NULL);
		io_buf_release(&w->buf);
		free(w);
	}
	wq->max_workers = 0;
	pthread_cond_destroy(&wq->gone);
	pthread_cond_destroy(&wq->watch);
	pthread_cond_destroy(&wq->idle);
	pthread_cond_destroy(&wq->more);
	pthread_mutex_destroy(&wq->lock);
}
