// SPDX-License-Identifier: GPL-2.0
/*
 * Which front end serves: the one asked for, or for "auto" the one the
 * running kernel can serve, or the one a handed-over fd belongs to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend.h"

/* NULL-terminated: a NO_FSCACHE build has none. */
static const struct frontend_ops *const frontends[] = {
#ifdef FSCACHED_HAVE_FSCACHE
	&cachefiles_frontend_ops,
	&fanotify_frontend_ops,
#endif
	NULL,
};

const struct frontend_ops *frontend_find(const char *name)
{
	const struct frontend_ops *const *ops;

	for (ops = frontends; *ops; ops++)
		if (!strcmp((*ops)->name, name))
			return *ops;
	return NULL;
}

/* What a held fd is: "cachefiles", "fanotify", or NULL. */
static const char *held_fd_kind(int fd)
{
	char link[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return NULL;
	if (S_ISCHR(st.st_mode))
		return "cachefiles";
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[fanotify]") ? NULL : "fanotify";
}

const struct frontend_ops *frontend_choose(const char *name, int held_fd,
					   char *why, size_t len)
{
	const struct frontend_ops *ops;
	const char *kind;

	if (held_fd >= 0 && (kind = held_fd_kind(held_fd))) {
		if (strcmp(name, "auto") && strcmp(name, kind)) {
			snprintf(why, len, "the fd handed over is a %s one, not %s: restart with --frontend %s",
				 kind, name, kind);
			return NULL;
		}
		snprintf(why, len, "the fd handed over is a %s one", kind);
		return frontend_find(kind);
	}
	if (strcmp(name, "auto")) {
		ops = frontend_find(name);
		if (!ops)
			snprintf(why, len, "there is no front end '%s' in this build (cachefiles, fanotify, auto)",
				 name);
		else
			snprintf(why, len, "asked for with --frontend");
		return ops;
	}
	/*
	 * cachefiles where the device is there to try; on-demand mode itself
	 * only shows when binding (daemon.c falls back then).
	 */
	if (!access("/dev/cachefiles", F_OK)) {
		snprintf(why, len, "/dev/cachefiles is there");
		return frontend_find("cachefiles");
	}
	snprintf(why, len, "the kernel has no /dev/cachefiles (no CONFIG_CACHEFILES, as on stock Debian and Ubuntu kernels)");
	return frontend_find("fanotify");
}
