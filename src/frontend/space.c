// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "compiler.h"
#include "cull.h"
#include "device.h"
#include "log.h"
#include "space.h"

#define SPACE_CHECK_MS		1000

/* A cache file that may be culled: where it is and when it was last used. */
struct cull_candidate {
	time_t used;
	uint64_t bytes;
	char vol[NAME_MAX + 1];
	char fan[8];
	char name[NAME_MAX + 1];
};

struct candidates {
	struct cull_candidate *v;
	size_t nr, cap;
};

/* Free blocks and files, in percent of the filesystem's. */
static void free_percent(const struct statvfs *sv, unsigned int *blocks,
			 unsigned int *files)
{
	*blocks = sv->f_blocks ? sv->f_bavail * 100 / sv->f_blocks : 100;
	/* Some filesystems (btrfs) have no fixed inode count. */
	*files = sv->f_files ? sv->f_favail * 100 / sv->f_files : 100;
}

static int space_free(const char *dir, unsigned int *blocks,
		      unsigned int *files)
{
	struct statvfs sv;

	if (statvfs(dir, &sv))
		return -errno;
	free_percent(&sv, blocks, files);
	return 0;
}

static bool space_low(const struct cache_limits *l, unsigned int b,
		      unsigned int f)
{
	return b < l->bcull || f < l->fcull;
}

static int candidate_add(struct candidates *c, const char *vol,
			 const char *fan, const char *name,
			 const struct stat *st)
{
	struct cull_candidate *v, *x;

	if (c->nr == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		v = realloc(c->v, c->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
	}
	x = &c->v[c->nr++];
	/* cachefiles may leave atime alone: the later of atime and mtime. */
	x->used = MAX(st->st_atime, st->st_mtime);
	x->bytes = (uint64_t)st->st_blocks * 512;
	snprintf(x->vol, sizeof(x->vol), "%s", vol);
	snprintf(x->fan, sizeof(x->fan), "%s", fan);
	snprintf(x->name, sizeof(x->name), "%s", name);
	return 0;
}

struct collect_ctx {
	struct candidates *c;
	const char *vol;
};

/* The data files ('D...') of one fan-out dir ('@xx'). */
static int collect_fan(int fan_fd, const char *fan, void *arg)
{
	struct collect_ctx *x = arg;
	struct dirent *f;
	struct stat st;
	int fd = dup(fan_fd);
	DIR *dp;

	if (strlen(fan) >= 8 || fd < 0)
		goto out;
	dp = fdopendir(fd);
	if (!dp)
		goto out;
	while ((f = readdir(dp)))
		if (f->d_name[0] == 'D' &&
		    !fstatat(dirfd(dp), f->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(st.st_mode))
			candidate_add(x->c, x->vol, fan, f->d_name, &st);
	closedir(dp);
	return 0;
out:
	if (fd >= 0)
		close(fd);
	return 0;
}

static int collect_volume(int vol_fd, const char *vol, void *arg)
{
	struct collect_ctx x = { .c = arg, .vol = vol };
	int fd = dup(vol_fd);

	if (fd >= 0)
		cachefiles_for_each_fan(fd, collect_fan, &x);
	return 0;
}

static int collect(int cache_fd, struct candidates *c)
{
	return cachefiles_for_each_volume(cache_fd, collect_volume, c);
}

static int by_use(const void *a, const void *b)
{
	const struct cull_candidate *x = a, *y = b;

	return (x->used > y->used) - (x->used < y->used);
}

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
	return ret;
}

/*
 * What culling must free to get back to brun% of the blocks and frun% of
 * the files: culled files are counted as they go (the space only comes
 * back when the graveyard is emptied, once at the end).
 */
struct shortfall {
	uint64_t bytes;
	uint64_t files;
};

static void space_shortfall(const struct statvfs *sv,
			    const struct cache_limits *l,
			    struct shortfall *need)
{
	uint64_t want;

	want = (uint64_t)sv->f_blocks * l->brun / 100;
	need->bytes = want > sv->f_bavail ?
		      (want - sv->f_bavail) * (uint64_t)sv->f_frsize : 0;
	want = (uint64_t)sv->f_files * l->frun / 100;
	need->files = sv->f_files && want > sv->f_favail ?
		      want - sv->f_favail : 0;
}

static void space_pass(struct cf_space *s, int cache_fd)
{
	struct candidates c = { NULL, 0, 0 };
	unsigned int b, f, n = 0, busy = 0;
	struct shortfall need;
	struct statvfs sv;
	uint64_t bytes = 0;
	size_t i;
	int ret;

	if (statvfs(s->cache_dir, &sv))
		return;
	free_percent(&sv, &b, &f);
	if (!space_low(&s->limits, b, f))
		return;
	space_shortfall(&sv, &s->limits, &need);
	log_debug("cache %s is low on space (%u%% of blocks, %u%% of files free): culling unused cache files",
		  s->cache_dir, b, f);
	collect(cache_fd, &c);
	qsort(c.v, c.nr, sizeof(*c.v), by_use);
	for (i = 0; i < c.nr && (bytes < need.bytes || n < need.files); i++) {
		/* Never ask the kernel about what a mount has open. */
		if (s->in_use(s->in_use_ctx, c.v[i].name + 1)) {
			busy++;
			continue;
		}
		ret = cull_candidate(s, cache_fd, &c.v[i]);
		if (ret == -EBUSY) {
			busy++;
			continue;
		}
		if (ret) {
			log_warn("cannot cull %s/%s/%s: %s", c.v[i].vol,
				 c.v[i].fan, c.v[i].name, strerror(-ret));
			continue;
		}
		n++;
		bytes += c.v[i].bytes;
	}
	cachefiles_reap_graveyard(s->cache_dir);
	space_free(s->cache_dir, &b, &f);
	log_info("the cache was low on space: culled %u unused cache file%s (%llu KiB), %u in use; %u%% of blocks, %u%% of files free now",
		 n, n == 1 ? "" : "s", (unsigned long long)(bytes >> 10), busy,
		 b, f);
	pthread_mutex_lock(&s->lock);
	s->stats.culled += n;
	s->stats.culled_bytes += bytes;
	s->stats.passes++;
	pthread_mutex_unlock(&s->lock);
	free(c.v);
}

/* Until a kick (a write left the space low or found no room) or the clock. */
static void space_wait(struct cf_space *s)
{
	struct pollfd p = { .fd = s->kick_fd, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, SPACE_CHECK_MS) > 0 &&
	    read(s->kick_fd, &n, sizeof(n)) < 0)
		return;
}

static void *space_thread(void *arg)
{
	struct cf_space *s = arg;
	char path[PATH_MAX] = "";
	int cache_fd = -1;

	snprintf(path, sizeof(path), "%s/cache", s->cache_dir);
	for (;;) {
		space_wait(s);
		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		s->in_pass = true;
		pthread_mutex_unlock(&s->lock);
		/* The cache dir appears with the first object. */
		if (cache_fd < 0)
			cache_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cache_fd >= 0)
			space_pass(s, cache_fd);
		pthread_mutex_lock(&s->lock);
		s->in_pass = false;
		s->passes++;
		pthread_cond_broadcast(&s->done);
		pthread_mutex_unlock(&s->lock);
	}
	if (cache_fd >= 0)
		close(cache_fd);
	return NULL;
}

static void space_kick(struct cf_space *s)
{
	uint64_t one = 1;

	if (write(s->kick_fd, &one, sizeof(one)) < 0)
		log_debug("cannot wake the space thread: %s", strerror(errno));
}

int cf_space_start(struct cf_space *s, int dev_fd, const char *cache_dir,
		   const struct cache_limits *lim,
		   bool (*in_use)(void *ctx, const char *blob_id), void *ctx)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->limits = *lim;
	s->dev_fd = dev_fd;
	s->cache_dir = cache_dir;
	s->kick_fd = -1;
	s->in_use = in_use;
	s->in_use_ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->done, NULL);
	if (lim->off)
		return 0;
	s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->kick_fd < 0)
		return -errno;
	ret = -pthread_create(&s->thread, NULL, space_thread, s);
	s->running = !ret;
	return ret;
}

void cf_space_stop(struct cf_space *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
	if (s->running) {
		space_kick(s);
		pthread_join(s->thread, NULL);
	}
	s->running = false;
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->lock);
}

void cf_space_wrote(struct cf_space *s)
{
	unsigned int b, f;

	if (s->running && !space_free(s->cache_dir, &b, &f) &&
	    space_low(&s->limits, b, f))
		space_kick(s);
}

void cf_space_make_room(struct cf_space *s, unsigned int ms)
{
	struct timespec ts;
	unsigned long want;

	if (!s->running)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	/* A pass that starts after this call: one running may have looked already. */
	want = s->passes + (s->in_pass ? 2 : 1);
	space_kick(s);
	while (!s->stopping && s->passes < want)
		if (pthread_cond_timedwait(&s->done, &s->lock, &ts))
			break;
	pthread_mutex_unlock(&s->lock);
}

void cf_space_stats(struct cf_space *s, struct cf_space_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}
