// SPDX-License-Identifier: GPL-2.0
/* The culling pass's knowledge of the cache: see space_index.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "cull.h"
#include "lib/log.h"
#include "space_index.h"

static void candidate_set_use(struct cull_candidate *x, const struct stat *st)
{
	/* cachefiles may leave atime alone: the later of atime and mtime. */
	x->used = MAX(st->st_atime, st->st_mtime);
	x->bytes = (uint64_t)st->st_blocks * 512;
}

static int candidate_add(struct space_index *ix, const char *vol,
			 const char *fan, const char *name,
			 const struct stat *st)
{
	struct cull_candidate *v, *x;

	if (ix->nr == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 64;

		v = realloc(ix->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ix->v = v;
		ix->cap = cap;
	}
	x = &ix->v[ix->nr++];
	candidate_set_use(x, st);
	snprintf(x->vol, sizeof(x->vol), "%s", vol);
	snprintf(x->fan, sizeof(x->fan), "%s", fan);
	snprintf(x->name, sizeof(x->name), "%s", name);
	return 0;
}

static struct cull_volume *volume_find(struct space_index *ix, const char *name)
{
	size_t i;

	for (i = 0; i < ix->nr_vols; i++)
		if (!strcmp(ix->vols[i].name, name))
			return &ix->vols[i];
	return NULL;
}

static struct cull_volume *volume_get(struct space_index *ix, const char *name)
{
	struct cull_volume *v = volume_find(ix, name);

	if (v)
		return v;
	if (ix->nr_vols == ix->cap_vols) {
		size_t cap = ix->cap_vols ? ix->cap_vols * 2 : 64;

		v = realloc(ix->vols, cap * sizeof(*v));
		if (!v)
			return NULL;
		ix->vols = v;
		ix->cap_vols = cap;
	}
	v = &ix->vols[ix->nr_vols++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->files = 0;
	return v;
}

struct collect_ctx {
	struct space_index *ix;
	const char *vol;
	unsigned int files;
};

/* The data files ('D...') of one fan-out dir ('@xx'). */
static int collect_fan(int fan_fd, const char *fan, void *arg)
{
	struct collect_ctx *x = arg;
	struct dirent *f;
	struct stat st;
	int fd;
	DIR *dp;

	if (strlen(fan) >= 8)
		return 0;
	fd = dup(fan_fd);
	if (fd < 0)
		return 0;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return 0;
	}
	while ((f = readdir(dp)))
		if (f->d_name[0] == 'D' &&
		    !fstatat(dirfd(dp), f->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(st.st_mode) &&
		    !candidate_add(x->ix, x->vol, fan, f->d_name, &st))
			x->files++;
	closedir(dp);
	return 0;
}

static int collect_volume(int vol_fd, const char *vol, void *arg)
{
	struct collect_ctx x = { .ix = arg, .vol = vol };
	struct space_index *ix = arg;
	struct cull_volume *v;
	int fd;

	uint64_t t0 = monotonic_us();

	fd = dup(vol_fd);
	if (fd >= 0)
		cachefiles_for_each_fan(fd, collect_fan, &x);
	log_debug("space: volume %s read in %llu ms: %u cache files", vol,
		  (unsigned long long)(monotonic_us() - t0) / 1000, x.files);
	v = volume_get(ix, vol);
	if (v)
		v->files = x.files;
	return 0;
}

static void rescan_volume(struct space_index *ix, int cache_fd,
			  const char *vol)
{
	int fd = openat(cache_fd, vol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	collect_volume(fd, vol, ix);
	close(fd);
}

int space_index_locate(struct space_index *ix, int cache_fd, const char *vol,
		       const char *name)
{
	char path[NAME_MAX * 3 + 8], fan[8];
	struct cull_volume *v;
	struct stat st;
	unsigned int i;

	for (i = 0; i < ix->nr; i++)
		if (!strcmp(ix->v[i].name, name) && !strcmp(ix->v[i].vol, vol))
			return 0;
	/* One lookup per fan-out directory costs far less than reading them. */
	for (i = 0; i < 256; i++) {
		snprintf(fan, sizeof(fan), "@%02x", i);
		snprintf(path, sizeof(path), "%s/%s/%s", vol, fan, name);
		if (fstatat(cache_fd, path, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		v = volume_get(ix, vol);
		if (!v || candidate_add(ix, vol, fan, name, &st))
			return -ENOMEM;
		v->files++;
		return 0;
	}
	return -ENOENT;
}

/* Use and size of each known file again; what is gone is dropped. */
static void refresh(struct space_index *ix, int cache_fd)
{
	char path[NAME_MAX * 3 + 8];
	struct stat st;
	size_t i;

	for (i = 0; i < ix->nr; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", ix->v[i].vol,
			 ix->v[i].fan, ix->v[i].name);
		if (!fstatat(cache_fd, path, &st, AT_SYMLINK_NOFOLLOW))
			candidate_set_use(&ix->v[i], &st);
		else if (errno == ENOENT)
			space_index_drop_file(ix, i);
	}
	for (i = 0; i < ix->nr_vols; i++)
		if (fstatat(cache_fd, ix->vols[i].name, &st, AT_SYMLINK_NOFOLLOW) &&
		    errno == ENOENT)
			space_index_drop_volume(ix, i);
	space_index_compact(ix);
}

static int by_use(const void *a, const void *b)
{
	const struct cull_candidate *x = a, *y = b;

	return (x->used > y->used) - (x->used < y->used);
}

struct names {
	char (*v)[NAME_MAX + 1];
	size_t nr, cap;
};

static int note_volume(int vol_fd, const char *vol, void *arg)
{
	struct names *n = arg;
	void *v;

	(void)vol_fd;
	if (n->nr == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 64;
		v = realloc(n->v, n->cap * sizeof(*n->v));
		if (!v)
			return -ENOMEM;
		n->v = v;
	}
	snprintf(n->v[n->nr++], sizeof(*n->v), "%s", vol);
	return 0;
}

void space_index_scan(struct space_index *ix, int cache_fd)
{
	struct names n = { 0 };
	size_t i;

	if (ix->scanned)
		return;
	/*
	 * The volumes there now: those made meanwhile are learnt from their
	 * releases (a readdir would go on finding them, and never end while
	 * images are mounted faster than volumes are read).
	 */
	ix->nr = ix->nr_vols = 0;
	cachefiles_for_each_volume(cache_fd, note_volume, &n);
	for (i = 0; i < n.nr; i++)
		rescan_volume(ix, cache_fd, n.v[i]);
	free(n.v);
	ix->scanned = true;
}

void space_index_empty(struct space_index *ix)
{
	ix->scanned = true;
}

void space_index_prepare(struct space_index *ix, int cache_fd)
{
	refresh(ix, cache_fd);
	qsort(ix->v, ix->nr, sizeof(*ix->v), by_use);
}

void space_index_drop_file(struct space_index *ix, size_t i)
{
	struct cull_volume *v = volume_find(ix, ix->v[i].vol);

	if (v && v->files)
		v->files--;
	ix->v[i].name[0] = '\0';
}

void space_index_drop_volume(struct space_index *ix, size_t i)
{
	ix->vols[i].name[0] = '\0';
}

void space_index_compact(struct space_index *ix)
{
	size_t i, j;

	for (i = j = 0; i < ix->nr; i++)
		if (ix->v[i].name[0])
			ix->v[j++] = ix->v[i];
	ix->nr = j;
	for (i = j = 0; i < ix->nr_vols; i++)
		if (ix->vols[i].name[0])
			ix->vols[j++] = ix->vols[i];
	ix->nr_vols = j;
}

void space_index_free(struct space_index *ix)
{
	free(ix->v);
	free(ix->vols);
	memset(ix, 0, sizeof(*ix));
}
