/* SPDX-License-Identifier: GPL-2.0 */
/* The /dev/cachefiles command channel (private to the front end). */
#ifndef FSCACHED_FRONTEND_DEVICE_H
#define FSCACHED_FRONTEND_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#define CACHEFILES_DEV_PATH	"/dev/cachefiles"

/*
 * Open the device; on failure log what the user can do about it (but not
 * -EBUSY when @quiet_busy).
 */
int cachefiles_dev_open(const char *path, bool quiet_busy);
struct cache_limits;
/*
 * "dir", optional "tag", the space limits, "bind ondemand"; logs an
 * actionable error.
 */
int cachefiles_dev_bind(int dev_fd, const char *cache_dir, const char *tag,
			const struct cache_limits *limits);
/* Whether a descriptor handed over by a holder is the device; logs if not. */
int cachefiles_dev_check_held(int dev_fd);
/*
 * On a device fd that outlived the daemon that bound it: ask the kernel to
 * re-send the requests that daemon had read but not answered, and to re-open
 * its objects. Never "dir"/"bind" again: the cache is still bound.
 */
int cachefiles_dev_restore(int dev_fd);
/* "brun 10%" and the like: a space limit the kernel enforces (stop). */
int cachefiles_dev_limit(int dev_fd, const char *name, unsigned int percent);
/*
 * "cull @name": bury that file of the calling thread's working directory
 * (a directory of the cache). -EBUSY while the kernel uses it.
 */
int cachefiles_dev_cull(int dev_fd, const char *name);
/* Answer an OPEN: @size >= 0 is the object size, < 0 an -errno. */
int cachefiles_dev_copen(int dev_fd, uint32_t msg_id, int64_t size);
/* Whether @fd is an anonymous fd the kernel made for a cache object. */
bool cachefiles_anon_fd(int fd);

#endif
