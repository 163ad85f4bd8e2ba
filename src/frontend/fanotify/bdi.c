// SPDX-License-Identifier: GPL-2.0
/*
 * The read-ahead of an EROFS mount of ours. Every read that file-backed
 * EROFS makes of a blob file raises one event, as big as the mount's
 * read-ahead: 128 KiB by default, so 512 round trips to us for a 64 MiB
 * file (6.18: a fifth of a cold sequential read's time went to them). With
 * read-ahead of a fetch unit, the kernel asks for what a fill makes present
 * anyway.
 *
 * A file-backed mount's bdi is "erofs-N", N from a sequence, and nothing in
 * sysfs ties it to its mount: the one mount(2) made is the one that was not
 * there before. Mounts are made one at a time here; when another erofs
 * mount appears at the same moment the mount is left at the kernel's
 * default, as it is where sysfs is read-only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanotify_int.h"
#include "lib/log.h"

#define BDI_DIR		"/sys/class/bdi"
#define BDI_PREFIX	"erofs-"

static pthread_mutex_t fan_bdi_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The highest erofs-N there is (-1: none), and how many are above
 * @after_seq (the last of them in @found).
 */
static long fan_bdi_scan(long after_seq, unsigned int *nr_new, long *found)
{
	struct dirent *de;
	long last = -1, n;
	char *end;
	DIR *dir;

	*nr_new = 0;
	dir = opendir(BDI_DIR);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, BDI_PREFIX, strlen(BDI_PREFIX)))
			continue;
		n = strtol(de->d_name + strlen(BDI_PREFIX), &end, 10);
		if (*end || n < 0)
			continue;
		if (n > last)
			last = n;
		if (n > after_seq) {
			(*nr_new)++;
			*found = n;
		}
	}
	closedir(dir);
	return last;
}

static int fan_bdi_set_readahead(long seq, unsigned int kb)
{
	char path[64], val[16];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), BDI_DIR "/" BDI_PREFIX "%ld/read_ahead_kb",
		 seq);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(val, sizeof(val), "%u", kb);
	if (write(fd, val, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

int fan_mount_with_readahead(int (*do_mount)(void *ctx), void *ctx,
			     unsigned int kb, const char *mountpoint)
{
	unsigned int nr_new;
	long before, seq = -1;
	int ret, err;

	pthread_mutex_lock(&fan_bdi_lock);
	before = kb ? fan_bdi_scan(-1, &nr_new, &seq) : -1;
	ret = do_mount(ctx);
	if (ret || !kb)
		goto out;
	fan_bdi_scan(before, &nr_new, &seq);
	if (nr_new != 1) {
		log_debug("mount on %s: %u new erofs bdis, not one: its read-ahead stays the kernel's",
			  mountpoint, nr_new);
		goto out;
	}
	err = fan_bdi_set_readahead(seq, kb);
	if (err)
		log_debug("mount on %s: cannot set the read-ahead of bdi erofs-%ld: %s",
			  mountpoint, seq, strerror(-err));
	else
		log_debug("mount on %s: read-ahead %u KiB (bdi erofs-%ld)",
			  mountpoint, kb, seq);
out:
	pthread_mutex_unlock(&fan_bdi_lock);
	return ret;
}
