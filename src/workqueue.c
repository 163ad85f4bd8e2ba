// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workqueue.h"

static void *worker_main(void *arg)
{
	struct worker *worker = arg;
	struct workqueue *wq = worker->wq;
	struct work *work;

	pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (list_empty(&wq->queue) && list_empty(&wq->low) &&
		       !wq->stopping)
			pthread_cond_wait(&wq->more, &wq->lock);
		if (!list_empty(&wq->queue))
			work = list_first_entry(&wq->queue, struct work, node);
		else if (!list_empty(&wq->low))
			work = list_first_entry(&wq->low, struct work, node);
		else
			break;
		list_del(&work->node);
		wq->busy++;
		pthread_mutex_unlock(&wq->lock);

		work->fn(work, worker);

		pthread_mutex_lock(&wq->lock);
		wq->busy--;
		if (!wq->busy && list_empty(&wq->queue) && list_empty(&wq->low))
			pthread_cond_broadcast(&wq->idle);
	}
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

int workqueue_init(struct workqueue *wq, unsigned int nr_workers,
		   size_t buf_size)
{
	unsigned int i;
	int ret;

	memset(wq, 0, sizeof(*wq));
	if (!nr_workers)
		return -EINVAL;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->more, NULL);
	pthread_cond_init(&wq->idle, NULL);
	list_init(&wq->queue);
	list_init(&wq->low);
	wq->workers = calloc(nr_workers, sizeof(*wq->workers));
	if (!wq->workers)
		return -ENOMEM;
	for (i = 0; i < nr_workers; i++) {
		struct worker *w = &wq->workers[i];

		w->wq = wq;
		w->index = i;
		ret = io_buf_init(&w->buf, buf_size);
		if (ret)
			goto err_stop;
		ret = -pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			io_buf_release(&w->buf);
			goto err_stop;
		}
		wq->nr_workers++;
	}
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
	while (wq->busy || !list_empty(&wq->queue) || !list_empty(&wq->low))
		pthread_cond_wait(&wq->idle, &wq->lock);
	pthread_mutex_unlock(&wq->lock);
}

void workqueue_destroy(struct workqueue *wq)
{
	unsigned int i;

	if (!wq->workers)
		return;
	pthread_mutex_lock(&wq->lock);
	__atomic_store_n(&wq->stopping, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&wq->more);
	pthread_mutex_unlock(&wq->lock);
	for (i = 0; i < wq->nr_workers; i++) {
		pthread_join(wq->workers[i].thread, NULL);
		io_buf_release(&wq->workers[i].buf);
	}
	free(wq->workers);
	wq->workers = NULL;
	pthread_cond_destroy(&wq->idle);
	pthread_cond_destroy(&wq->more);
	pthread_mutex_destroy(&wq->lock);
}
