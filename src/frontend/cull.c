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

#include "cull.h"
#include "device.h"
#include "log.h"

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

/* Cull @name in each fan-out directory (@xx) of the volume at @vol_fd. */
static int cull_in_volume(int dev_fd, int vol_fd, const char *vol,
			  const char *name, int *culled)
{
	struct dirent *e;
	struct stat st;
	int fd, ret, busy = 0;
	DIR *dp;

	dp = fdopendir(vol_fd);
	if (!dp) {
		close(vol_fd);
		return 0;
	}
	while ((e = readdir(dp))) {
		if (e->d_name[0] != '@')
			continue;
		fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
			ret = cachefiles_cull_at(dev_fd, fd, name);
			if (!ret) {
				(*culled)++;
				log_info("culled %s/%s/%s", vol, e->d_name, name);
			} else if (ret == -EBUSY) {
				busy++;
			} else {
				log_warn("cannot cull %s/%s/%s: %s", vol,
					 e->d_name, name, strerror(-ret));
			}
		}
		close(fd);
	}
	closedir(dp);
	return busy ? -EBUSY : 0;
}

int cachefiles_cull_blob(int dev_fd, const char *cache_dir,
			 const char *blob_id)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	int cache_fd, vol_fd, culled = 0, busy = 0;
	struct dirent *e;
	DIR *dp;

	/* cachefiles names a data file by 'D' and its printable key. */
	if (snprintf(name, sizeof(name), "D%s", blob_id) >= (int)sizeof(name) ||
	    snprintf(path, sizeof(path), "%s/cache", cache_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	cache_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cache_fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	dp = fdopendir(cache_fd);
	if (!dp) {
		close(cache_fd);
		return -errno;
	}
	while ((e = readdir(dp))) {
		/* Volumes are 'I' + their key: "erofs,<domain>". */
		if (e->d_name[0] != 'I')
			continue;
		vol_fd = openat(dirfd(dp), e->d_name,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (vol_fd >= 0 &&
		    cull_in_volume(dev_fd, vol_fd, e->d_name, name, &culled))
			busy++;
	}
	closedir(dp);
	if (culled)
		cachefiles_reap_graveyard(cache_dir);
	if (busy)
		return -EBUSY;
	return culled ? culled : -ENOENT;
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
