// SPDX-License-Identifier: GPL-2.0
/*
 * Room on the cache filesystem for the blob files, by cachefilesd's
 * watermarks (space/watermarks.h): below bcull% free blocks or fcull% free
 * files, the least recently read blob files that no mount has are removed
 * until brun% and frun% are free again, on the culler's thread
 * (space/culler.h). A blob file that a mount has, or that
 * a mount is opening, is never removed: the check and the unlink hold the
 * mounts lock, under which mounts take and open their blob files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/nydus.h"
#include "fanotify_int.h"
#include "lib/blob_id.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "space/culler.h"
#include "space/watermarks.h"

struct fan_victim {
	char name[256];
	struct timespec used;		/* atime: the last read */
	uint64_t bytes;
};

static int by_use(const void *a, const void *b)
{
	const struct fan_victim *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The blob files, least recently read (atime) first. */
static struct fan_victim *fan_blob_files(struct fanotify_frontend *fe,
					size_t *nr)
{
	struct fan_victim *v = NULL, *bigger;
	size_t cap = 0, n = 0;
	struct dirent *e;
	struct stat st;
	DIR *dp;

	*nr = 0;
	dp = opendir(fe->blob_dir);
	if (!dp)
		return NULL;
	while ((e = readdir(dp))) {
		if (!blob_id_valid(e->d_name, strlen(e->d_name)) ||
		    fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			bigger = realloc(v, cap * sizeof(*v));
			if (!bigger)
				break;
			v = bigger;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n].used = st.st_atim;
		v[n].bytes = (uint64_t)st.st_blocks * 512;
		n++;
	}
	closedir(dp);
	if (n)
		qsort(v, n, sizeof(*v), by_use);
	*nr = n;
	return v;
}

int fan_blob_remove_locked(struct fanotify_frontend *fe, const char *blob_id)
{
	char path[4096];
	int ret;

	if (fan_files_has(&fe->files, blob_id) || fan_opening_has(fe, blob_id))
		return -EBUSY;
	snprintf(path, sizeof(path), "%s/%s", fe->blob_dir, blob_id);
	ret = unlink(path) ? -errno : 1;
	nydus_meta_drop(fe->cache_dir, blob_id);
	if (ret > 0)
		log_info("culled blob file %s", path);
	return ret;
}

static unsigned int fan_space_pass(void *ctx)
{
	struct fanotify_frontend *fe = ctx;
	struct fan_space *s = &fe->space;
	struct shortfall need;
	struct fan_victim *v;
	unsigned int b, f, culled = 0;
	size_t i, n;

	if (space_check(fe->blob_dir, &s->culler.limits, &b, &f, &need) <= 0)
		return 0;
	counter_add(&s->stats.passes, 1);
	pthread_mutex_lock(&fe->mounts_lock);
	v = fan_blob_files(fe, &n);
	for (i = 0; i < n && (need.bytes || need.files); i++) {
		if (fan_blob_remove_locked(fe, v[i].name) <= 0)
			continue;
		culled++;
		counter_add(&s->stats.culled, 1);
		counter_add(&s->stats.culled_bytes, v[i].bytes);
		need.bytes = need.bytes > v[i].bytes ? need.bytes - v[i].bytes : 0;
		need.files = need.files ? need.files - 1 : 0;
	}
	pthread_mutex_unlock(&fe->mounts_lock);
	if (need.bytes || need.files)
		log_warn("space: %u%% of the blocks and %u%% of the files of %s are free, and every blob file left is mounted",
			 b, f, fe->cache_dir);
	free(v);
	return culled;
}

static const struct space_store_ops fan_store_ops = {
	.pass = fan_space_pass,
};

int fan_space_start(struct fanotify_frontend *fe, const struct cache_limits *l)
{
	struct fan_space *s = &fe->space;

	return space_culler_start(&s->culler, fe->blob_dir, l, &fan_store_ops,
				  fe);
}

void fan_space_stop(struct fanotify_frontend *fe)
{
	struct fan_space *s = &fe->space;

	space_culler_stop(&s->culler);
}
