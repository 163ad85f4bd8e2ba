// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/nydus.h"
#include "cull.h"
#include "device.h"
#include "lib/log.h"

/*
 * The kernel culls in the writer's working directory. A thread of its own
 * with unshare(CLONE_FS) changes directory without moving the others'.
 */
struct cull_call {
	int dev_fd;
	int dir_fd;
	const char *name;
	int ret;
};

static int cull_here(int dev_fd, int dir_fd, const char *name)
{
	if (fchdir(dir_fd))
		return -errno;
	return cachefiles_dev_cull(dev_fd, name);
}

static void *cull_thread(void *arg)
{
	struct cull_call *c = arg;

	if (unshare(CLONE_FS))
		c->ret = -errno;
	else
		c->ret = cull_here(c->dev_fd, c->dir_fd, c->name);
	return NULL;
}

int cachefiles_cull_at(int dev_fd, int dir_fd, const char *name)
{
	struct cull_call c = { dev_fd, dir_fd, name, 0 };
	pthread_t t;
	int ret;

	ret = pthread_create(&t, NULL, cull_thread, &c);
	if (ret)
		return -ret;
	pthread_join(t, NULL);
	return c.ret;
}

/* Entries of @dir_fd (taken) whose name starts with @kind, as directories. */
static int for_each_dir(int dir_fd, char kind, cachefiles_dir_fn fn, void *arg)
{
	struct dirent *e;
	int fd, ret = 0;
	DIR *dp;

	dp = fdopendir(dir_fd);
	if (!dp) {
		close(dir_fd);
		return -errno;
	}
	/* A dup shares the offset an earlier walk left at the end. */
	rewinddir(dp);
	while (!ret && (e = readdir(dp))) {
		if (e->d_name[0] != kind)
			continue;
		fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ret = fn(fd, e->d_name, arg);
		close(fd);
	}
	closedir(dp);
	return ret;
}

int cachefiles_for_each_volume(int cache_fd, cachefiles_dir_fn fn, void *arg)
{
	int fd = dup(cache_fd);

	if (fd < 0)
		return -errno;
	return for_each_dir(fd, 'I', fn, arg);
}

int cachefiles_for_each_fan(int vol_fd, cachefiles_dir_fn fn, void *arg)
{
	return for_each_dir(vol_fd, '@', fn, arg);
}

struct cull_blob {
	int dev_fd;
	const char *cache_dir;
	const char *vol;
	const char *name;	/* D<blob id> */
	int culled, busy;
};

static int cull_in_fan(int fan_fd, const char *fan, void *arg)
{
	struct cull_blob *c = arg;
	struct stat st;
	int ret;

	if (fstatat(fan_fd, c->name, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	ret = cachefiles_cull_at(c->dev_fd, fan_fd, c->name);
	if (!ret) {
		c->culled++;
		log_info("culled %s/%s/%s", c->vol, fan, c->name);
		cachefiles_culled(c->cache_dir, c->name);
	} else if (ret == -EBUSY) {
		c->busy++;
	} else {
		log_warn("cannot cull %s/%s/%s: %s", c->vol, fan, c->name,
			 strerror(-ret));
	}
	return 0;
}

static int cull_in_volume(int vol_fd, const char *vol, void *arg)
{
	struct cull_blob *c = arg;
	int fd = dup(vol_fd);

	c->vol = vol;
	if (fd >= 0)
		cachefiles_for_each_fan(fd, cull_in_fan, c);
	return 0;
}

int cachefiles_cull_blob(int dev_fd, const char *cache_dir,
			 const char *blob_id)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	struct cull_blob c = { .dev_fd = dev_fd, .cache_dir = cache_dir,
			       .name = name };
	int cache_fd, ret;

	/* cachefiles names a data file by 'D' and its printable key. */
	if (snprintf(name, sizeof(name), "D%s", blob_id) >= (int)sizeof(name) ||
	    snprintf(path, sizeof(path), "%s/cache", cache_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	cache_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cache_fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	ret = cachefiles_for_each_volume(cache_fd, cull_in_volume, &c);
	close(cache_fd);
	if (ret)
		return ret;
	if (c.culled)
		cachefiles_reap_graveyard(cache_dir);
	if (c.busy)
		return -EBUSY;
	return c.culled ? c.culled : -ENOENT;
}

void cachefiles_culled(const char *cache_dir, const char *name)
{
	int ret;

	/* cachefiles names a data file 'D' and its key: the blob id. */
	if (name[0] != 'D')
		return;
	ret = nydus_meta_drop(cache_dir, name + 1);
	if (ret < 0 && ret != -EINVAL)
		log_warn("blob %s is culled, but its local blob meta stays: %s",
			 name + 1, strerror(-ret));
}

static int reap_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	if (!ftw->level)
		return 0;
	if (flag == FTW_DP ? rmdir(path) : unlink(path))
		log_warn("cannot remove %s from the graveyard: %s", path,
			 strerror(errno));
	return 0;
}

int cachefiles_reap_graveyard(const char *cache_dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/graveyard", cache_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK))
		return 0;
	return nftw(path, reap_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}
