// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "cull.h"
#include "device.h"
#include "lib/log.h"
#include "space.h"
#include "space_index.h"
#include "space/culler.h"
#include "space/watermarks.h"

static int cull_candidate(struct cf_space *s, int cache_fd,
			  const struct cull_candidate *x)
{
	char dir[NAME_MAX * 2 + 8];
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s/%s", x->vol, x->fan);
	fd = openat(cache_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = cachefiles_cull_at(s->dev_fd, fd, x->name);
	close(fd);
	if (!ret)
		cachefiles_culled(s->cache_dir, x->name);
	return ret;
}

#define VOLUME_PREFIX	"Ierofs,"
/* How long a released blob's file is looked for (cf_space_released()). */
#define DIRTY_KEEP_US	(2 * 1000000ULL)

/*
 * Volume directories with no cache file left that no mount uses: each is
 * 257 directories (its fan-out), which one image per domain multiplies.
 * The kernel refuses to cull a volume it has acquired; we do not ask.
 */
static unsigned int cull_empty_volumes(struct cf_space *s, int cache_fd)
{
	struct space_index *ix = &s->index;
	const char *domain;
	unsigned int n = 0;
	size_t i;
	int ret;

	for (i = 0; i < ix->nr_vols; i++) {
		if (ix->vols[i].files ||
		    strncmp(ix->vols[i].name, VOLUME_PREFIX, strlen(VOLUME_PREFIX)))
			continue;
		domain = ix->vols[i].name + strlen(VOLUME_PREFIX);
		if (s->in_use(s->in_use_ctx, domain, NULL))
			continue;
		ret = cachefiles_cull_at(s->dev_fd, cache_fd, ix->vols[i].name);
		if (!ret) {
			n++;
			space_index_drop_volume(ix, i);
		} else if (ret != -EBUSY) {
			log_debug("cannot cull the empty volume %s: %s",
				  ix->vols[i].name, strerror(-ret));
		}
	}
	return n;
}

/*
 * Where the files of the blobs released lately are: each is looked for
 * until it is found, or for DIRTY_KEEP_US (the kernel links a released
 * file in just after its CLOSE).
 */
static void locate_released(struct cf_space *s, int cache_fd)
{
	struct space_dirty *todo;
	size_t i, j, n;
	uint64_t now;
	bool *done;

	/* What was noted until now: later releases wait for the next tick. */
	pthread_mutex_lock(&s->lock);
	n = s->nr_dirty;
	todo = n ? malloc(n * sizeof(*todo)) : NULL;
	if (todo)
		memcpy(todo, s->dirty, n * sizeof(*todo));
	pthread_mutex_unlock(&s->lock);
	done = todo ? calloc(n, sizeof(*done)) : NULL;
	if (!done) {
		free(todo);
		return;
	}
	now = monotonic_us();
	for (i = 0; i < n; i++)
		done[i] = space_index_locate(&s->index, cache_fd, todo[i].vol,
					     todo[i].name) != -ENOENT ||
			  now - todo[i].noted_us >= DIRTY_KEEP_US;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n; i++) {
		if (!done[i])
			continue;
		for (j = 0; j < s->nr_dirty; j++)
			if (!strcmp(s->dirty[j].vol, todo[i].vol) &&
			    !strcmp(s->dirty[j].name, todo[i].name) &&
			    s->dirty[j].noted_us == todo[i].noted_us) {
				s->dirty[j] = s->dirty[--s->nr_dirty];
				break;
			}
	}
	pthread_mutex_unlock(&s->lock);
	free(done);
	free(todo);
}

static unsigned int space_pass(struct cf_space *s, int cache_fd)
{
	struct space_index *ix = &s->index;
	unsigned int b, f, n = 0, busy = 0, vols;
	uint64_t t0;
	struct shortfall need;
	uint64_t bytes = 0;
	size_t i;
	int ret;

	/*
	 * Kept up to date on every tick, low or not: when the space runs
	 * low there is no time to read hundreds of volumes.
	 */
	t0 = monotonic_us();
	space_index_scan(ix, cache_fd);
	locate_released(s, cache_fd);
	if (monotonic_us() - t0 > 1000000)
		log_debug("space: index of %zu files in %zu volumes, up to date in %llu ms",
			  ix->nr, ix->nr_vols,
			  (unsigned long long)(monotonic_us() - t0) / 1000);
	if (space_check(s->cache_dir, &s->culler.limits, &b, &f, &need) <= 0)
		return 0;
	log_debug("cache %s is low on space (%u%% of blocks, %u%% of files free): culling unused cache files",
		  s->cache_dir, b, f);
	space_index_prepare(ix, cache_fd);
	for (i = 0; i < ix->nr && (bytes < need.bytes || n < need.files); i++) {
		/* Never ask the kernel about what a mount has open. */
		if (s->in_use(s->in_use_ctx, NULL, ix->v[i].name + 1)) {
			busy++;
			continue;
		}
		ret = cull_candidate(s, cache_fd, &ix->v[i]);
		if (ret == -EBUSY) {
			busy++;
			continue;
		}
		if (ret) {
			log_warn("cannot cull %s/%s/%s: %s", ix->v[i].vol,
				 ix->v[i].fan, ix->v[i].name, strerror(-ret));
			continue;
		}
		n++;
		bytes += ix->v[i].bytes;
		space_index_drop_file(ix, i);
	}
	vols = cull_empty_volumes(s, cache_fd);
	space_index_compact(ix);
	cachefiles_reap_graveyard(s->cache_dir);
	space_free(s->cache_dir, &b, &f);
	log_info("the cache was low on space: culled %u unused cache file%s (%llu KiB) and %u empty volume%s, %u in use; %u%% of blocks, %u%% of files free now",
		 n, n == 1 ? "" : "s", (unsigned long long)(bytes >> 10),
		 vols, vols == 1 ? "" : "s", busy, b, f);
	pthread_mutex_lock(&s->lock);
	s->stats.culled += n;
	s->stats.culled_volumes += vols;
	s->stats.culled_bytes += bytes;
	s->stats.passes++;
	pthread_mutex_unlock(&s->lock);
	return n + vols;
}

void cf_space_released(struct cf_space *s, const char *domain,
		       const char *blob_id)
{
	struct space_dirty *d;
	char vol[NAME_MAX + 1], name[NAME_MAX + 1];
	size_t i;

	if (!s->culler.running)
		return;
	snprintf(vol, sizeof(vol), "%s%s", VOLUME_PREFIX, domain);
	snprintf(name, sizeof(name), "D%s", blob_id);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nr_dirty; i++)
		if (!strcmp(s->dirty[i].vol, vol) && !strcmp(s->dirty[i].name, name))
			break;
	if (i == s->nr_dirty && s->nr_dirty == s->cap_dirty) {
		size_t cap = s->cap_dirty ? s->cap_dirty * 2 : 16;

		d = realloc(s->dirty, cap * sizeof(*d));
		if (!d)
			goto out;
		s->dirty = d;
		s->cap_dirty = cap;
	}
	if (i == s->nr_dirty) {
		snprintf(s->dirty[i].vol, sizeof(s->dirty[i].vol), "%s", vol);
		snprintf(s->dirty[i].name, sizeof(s->dirty[i].name), "%s", name);
		s->nr_dirty++;
	}
	s->dirty[i].noted_us = monotonic_us();
out:
	pthread_mutex_unlock(&s->lock);
}

/* The culler's thread: its cache dir fd, opened once the dir exists. */
static void cf_space_open_cache(struct cf_space *s)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cache", s->cache_dir);
	s->cache_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void cf_space_begin(void *ctx)
{
	struct cf_space *s = ctx;

	/*
	 * What the cache holds at the start is read now, before mounts make
	 * more; every later file is learnt from its release.
	 */
	cf_space_open_cache(s);
	if (s->cache_fd >= 0)
		space_index_scan(&s->index, s->cache_fd);
	else if (errno == ENOENT)
		space_index_empty(&s->index);
}

static unsigned int cf_space_pass(void *ctx)
{
	struct cf_space *s = ctx;

	/* The cache dir appears with the first object. */
	if (s->cache_fd < 0)
		cf_space_open_cache(s);
	return s->cache_fd >= 0 ? space_pass(s, s->cache_fd) : 0;
}

static void cf_space_end(void *ctx)
{
	struct cf_space *s = ctx;

	if (s->cache_fd >= 0)
		close(s->cache_fd);
	s->cache_fd = -1;
}

static const struct space_store_ops cf_store_ops = {
	.begin = cf_space_begin,
	.pass = cf_space_pass,
	.end = cf_space_end,
};

int cf_space_start(struct cf_space *s, int dev_fd, const char *cache_dir,
		   const struct cache_limits *lim,
		   bool (*in_use)(void *ctx, const char *domain,
				  const char *blob_id), void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->dev_fd = dev_fd;
	s->cache_dir = cache_dir;
	s->cache_fd = -1;
	s->in_use = in_use;
	s->in_use_ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	return space_culler_start(&s->culler, cache_dir, lim, &cf_store_ops, s);
}

void cf_space_stop(struct cf_space *s)
{
	space_culler_stop(&s->culler);
	pthread_mutex_destroy(&s->lock);
	space_index_free(&s->index);
	free(s->dirty);
	s->dirty = NULL;
}

void cf_space_stats(struct cf_space *s, struct cf_space_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}
