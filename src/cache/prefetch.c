// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blob_range.h"
#include "cache_int.h"
#include "lib/compiler.h"
#include "config/config.h"
#include "lib/log.h"
#include "prefetch.h"
#include "lib/workqueue.h"

/* Longest sleep of a paced worker before it looks for demand work again. */
#define PREFETCH_PACE_SLICE_US	20000

struct prefetch_worker {
	struct work work;
	struct prefetch *pf;
};

struct prefetch {
	struct blob_cache *bc;		/* a reference of ours */
	struct workqueue *wq;
	pthread_mutex_t lock;
	uint64_t next;			/* pieces are claimed below this */
	bool whole;			/* the whole blob, after the files */
	unsigned int next_range;	/* the image's files first */
	uint64_t range_pos;
	uint64_t batch;
	uint64_t limit;			/* bytes per second, 0: no limit */
	uint64_t start_us;
	uint64_t claimed;		/* bytes, for the pacing */
	unsigned int refs;		/* workers still queued or running */
	struct prefetch_worker *workers;
};

static void prefetch_free(struct prefetch *pf)
{
	pthread_mutex_destroy(&pf->lock);
	free(pf->workers);
	free(pf);
}

/*
 * A worker is done for good. The workers own the prefetch: the last one
 * frees it and then drops the blob cache reference taken at the start.
 */
static void prefetch_put(struct prefetch *pf)
{
	struct blob_cache *bc = pf->bc;
	unsigned int refs;

	pthread_mutex_lock(&pf->lock);
	refs = --pf->refs;
	pthread_mutex_unlock(&pf->lock);
	if (refs)
		return;
	prefetch_free(pf);
	blob_cache_put(bc);
}

static bool prefetch_stopped(struct prefetch *pf)
{
	return __atomic_load_n(&pf->bc->prefetch_stopped, __ATOMIC_RELAXED) ||
	       workqueue_stopping(pf->wq);
}

/* How long until the next piece may start, in microseconds; under the lock. */
static uint64_t prefetch_pace(struct prefetch *pf)
{
	uint64_t due, now;

	if (!pf->limit)
		return 0;
	due = pf->start_us + pf->claimed * 1000000 / pf->limit;
	now = monotonic_us();
	return due > now ? due - now : 0;
}

enum prefetch_claim {
	PREFETCH_CLAIMED,
	PREFETCH_WAIT,		/* paced: *wait_us until the next piece */
	PREFETCH_DONE,
};

/*
 * The next piece: the image's files first, then the blob from its end.
 * Pacing is decided in the same critical section as the claim, or two
 * workers could both see the budget free and start a piece each.
 */
static enum prefetch_claim prefetch_claim(struct prefetch *pf, uint64_t *off,
					  uint64_t *len, bool *last,
					  uint64_t *wait_us)
{
	enum prefetch_claim ret = PREFETCH_DONE;

	pthread_mutex_lock(&pf->lock);
	if (prefetch_stopped(pf))
		goto out;
	if (pf->next_range >= pf->bc->nr_prefetch_first &&
	    (!pf->whole || !pf->next))
		goto out;
	*wait_us = prefetch_pace(pf);
	if (*wait_us) {
		ret = PREFETCH_WAIT;
		goto out;
	}
	if (pf->next_range < pf->bc->nr_prefetch_first) {
		const struct blob_range *r = &pf->bc->prefetch_first[pf->next_range];

		*off = r->off + pf->range_pos;
		*len = MIN(r->len - pf->range_pos, pf->batch);
		pf->range_pos += *len;
		if (pf->range_pos >= r->len) {
			pf->next_range++;
			pf->range_pos = 0;
		}
	} else {
		*len = pf->next % pf->batch ? pf->next % pf->batch : pf->batch;
		*off = pf->next - *len;
		pf->next = *off;
		*last = !*off;
	}
	pf->claimed += *len;
	ret = PREFETCH_CLAIMED;
out:
	pthread_mutex_unlock(&pf->lock);
	return ret;
}

static void prefetch_work(struct work *work, struct worker *worker)
{
	struct prefetch_worker *w = container_of(work, struct prefetch_worker,
						 work);
	struct prefetch *pf = w->pf;
	struct blob_cache *bc = pf->bc;
	enum prefetch_claim claim;
	uint64_t off, len, wait;
	bool last = false;
	int ret;

	for (;;) {
		claim = prefetch_claim(pf, &off, &len, &last, &wait);
		if (claim == PREFETCH_DONE) {
			prefetch_put(pf);
			return;
		}
		if (claim == PREFETCH_CLAIMED)
			break;
		/* Never hold a worker that a demand request could use. */
		if (workqueue_demand_pending(pf->wq)) {
			workqueue_queue_low(pf->wq, &w->work, prefetch_work);
			return;
		}
		usleep(MIN(wait, (uint64_t)PREFETCH_PACE_SLICE_US));
	}
	ret = blob_cache_fill(bc, off, len, &worker->buf, FILL_PREFETCH);
	if (ret) {
		counter_add(&bc->stats.prefetch_errors, 1);
		log_debug("prefetch of blob '%s' [%llu, +%llu) failed: %s",
			  bc->id, (unsigned long long)off,
			  (unsigned long long)len, strerror(-ret));
	}
	if (last && !ret)
		log_info("blob '%s' is all in the cache (prefetched)", bc->id);
	/* Behind whatever demand arrived meanwhile. */
	workqueue_queue_low(pf->wq, &w->work, prefetch_work);
}

bool prefetch_maybe_start(struct blob_cache *bc, struct workqueue *wq)
{
	const struct prefetch_config *cfg = &bc->mgr->config->prefetch;
	unsigned int threads, i;
	struct prefetch *pf;

	if ((!cfg->enable && !bc->nr_prefetch_first) || !bc->size ||
	    __atomic_exchange_n(&bc->prefetch_started, true, __ATOMIC_RELAXED))
		return false;
	/* A stop before any start stopped nothing: the old behaviour. */
	__atomic_store_n(&bc->prefetch_stopped, false, __ATOMIC_RELAXED);
	threads = cfg->threads ? cfg->threads : PREFETCH_DEFAULT_THREADS;
	threads = MIN(threads, wq->nr_workers);
	/* One piece at a time keeps a compressed image's data one suffix. */
	if (__atomic_load_n(&bc->format, __ATOMIC_RELAXED) !=
	    BLOB_FORMAT_PLAIN)
		threads = 1;
	pf = calloc(1, sizeof(*pf));
	if (pf)
		pf->workers = calloc(threads, sizeof(*pf->workers));
	if (!pf || !pf->workers) {
		free(pf);
		log_warn("no memory to prefetch blob '%s'", bc->id);
		return false;
	}
	pthread_mutex_init(&pf->lock, NULL);
	blob_cache_get(bc);
	pf->bc = bc;
	pf->wq = wq;
	pf->next = bc->size;
	pf->whole = cfg->enable;
	pf->batch = cfg->batch_size ? MAX(cfg->batch_size, PREFETCH_MIN_BATCH)
				    : PREFETCH_DEFAULT_BATCH;
	pf->batch = ALIGN_UP(pf->batch, (uint64_t)CACHE_BLOCK_SIZE);
	pf->limit = cfg->bandwidth_limit;
	pf->start_us = monotonic_us();
	pf->refs = threads;
	log_info("prefetching blob '%s' (%s%s of %llu bytes, %u workers, %llu-byte pieces%s)",
		 bc->id, bc->nr_prefetch_first ? "the files its image names" : "",
		 !pf->whole ? "" : bc->nr_prefetch_first ? ", then all" : "all",
		 (unsigned long long)bc->size, threads,
		 (unsigned long long)pf->batch, pf->limit ? ", paced" : "");
	for (i = 0; i < threads; i++) {
		pf->workers[i].pf = pf;
		workqueue_queue_low(wq, &pf->workers[i].work, prefetch_work);
	}
	return true;
}

void prefetch_stop(struct blob_cache *bc)
{
	__atomic_store_n(&bc->prefetch_stopped, true, __ATOMIC_RELAXED);
}
