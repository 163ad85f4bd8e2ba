// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <time.h>

#include "culler.h"
#include "lib/compiler.h"
#include "lib/log.h"

#define SPACE_CHECK_MS		1000

static void *space_culler_thread(void *arg)
{
	struct space_culler *c = arg;
	struct timespec until;
	unsigned int n;

	if (c->ops->begin)
		c->ops->begin(c->ctx);
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		/* A kick from now on asks for a pass after this one. */
		c->kicked = false;
		c->passes_started++;
		pthread_mutex_unlock(&c->lock);
		n = c->ops->pass(c->ctx);
		pthread_mutex_lock(&c->lock);
		c->culled += n;
		c->passes_done++;
		pthread_cond_broadcast(&c->done);
		if (c->stopping || c->kicked)
			continue;
		timespec_in_us(CLOCK_REALTIME, SPACE_CHECK_MS * 1000ULL, &until);
		pthread_cond_timedwait(&c->kick, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	if (c->ops->end)
		c->ops->end(c->ctx);
	return NULL;
}

int space_culler_start(struct space_culler *c, const char *dir,
		       const struct cache_limits *limits,
		       const struct space_store_ops *ops, void *ctx)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->ctx = ctx;
	c->dir = dir;
	c->limits = *limits;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->kick, NULL);
	pthread_cond_init(&c->done, NULL);
	if (limits->off)
		return 0;
	ret = -pthread_create(&c->thread, NULL, space_culler_thread, c);
	c->running = !ret;
	return ret;
}

void space_culler_stop(struct space_culler *c)
{
	if (c->running) {
		pthread_mutex_lock(&c->lock);
		c->stopping = true;
		pthread_cond_broadcast(&c->kick);
		pthread_cond_broadcast(&c->done);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
		c->running = false;
	}
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->kick);
	pthread_mutex_destroy(&c->lock);
}

static void space_culler_kick_locked(struct space_culler *c)
{
	c->kicked = true;
	pthread_cond_broadcast(&c->kick);
}

void space_culler_wrote(struct space_culler *c)
{
	unsigned int b, f;

	if (!c->running || space_free(c->dir, &b, &f) ||
	    !space_low(&c->limits, b, f))
		return;
	pthread_mutex_lock(&c->lock);
	space_culler_kick_locked(c);
	pthread_mutex_unlock(&c->lock);
}

bool space_culler_make_room(struct space_culler *c, unsigned int ms)
{
	struct timespec until;
	unsigned long want;
	uint64_t culled;

	if (!c->running)
		return false;
	timespec_in_us(CLOCK_REALTIME, (uint64_t)ms * 1000, &until);
	pthread_mutex_lock(&c->lock);
	culled = c->culled;
	/* One running may have looked already: a pass that begins after now. */
	want = c->passes_started + 1;
	space_culler_kick_locked(c);
	while (c->passes_done < want && !c->stopping)
		if (pthread_cond_timedwait(&c->done, &c->lock, &until))
			break;
	culled = c->culled - culled;
	pthread_mutex_unlock(&c->lock);
	return culled;
}

void space_culler_note_full(struct space_culler *c)
{
	struct statvfs sv;
	bool was;

	if (statvfs(c->dir, &sv))
		return;
	pthread_mutex_lock(&c->lock);
	was = c->full;
	c->full = true;
	c->full_bfree = sv.f_bfree;
	pthread_mutex_unlock(&c->lock);
	if (!was)
		log_warn("space: the cache filesystem of %s is full: reads of what is not cached yet get EIO until there is room",
			 c->dir);
}

bool space_culler_full(struct space_culler *c)
{
	struct statvfs sv;
	bool full;

	pthread_mutex_lock(&c->lock);
	full = c->full;
	pthread_mutex_unlock(&c->lock);
	if (!full || statvfs(c->dir, &sv))
		return full;
	pthread_mutex_lock(&c->lock);
	if (c->full && sv.f_bfree > c->full_bfree) {
		c->full = false;
		log_info("space: the cache filesystem of %s has room again",
			 c->dir);
	}
	full = c->full;
	pthread_mutex_unlock(&c->lock);
	return full;
}
