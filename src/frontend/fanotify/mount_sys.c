// SPDX-License-Identifier: GPL-2.0
/*
 * mount(2) itself, called here and never through /bin/mount: a loop device
 * over a blob file bypasses the hook. Then the new mount's read-ahead.
 *
 * Every read that file-backed EROFS makes of a blob file raises one event,
 * as big as the mount's read-ahead: 128 KiB by default, so 512 round trips
 * to us for a 64 MiB file (6.18: a fifth of a cold sequential read's time
 * went to them). With read-ahead of a fetch unit, the kernel asks for what
 * a fill makes present anyway.
 *
 * A file-backed mount's bdi is "erofs-N", N from a sequence, and nothing in
 * sysfs ties it to its mount: the one mount(2) made is the one that was not
 * there before. No lock is held across mount(2), which may wait on a slow
 * backend (metadata through the hook, from 7.3) and must hold up no other
 * image's mount: when another erofs mount appears at the same moment, ours
 * keeps the kernel's default, as it does where sysfs is read-only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fanotify_int.h"
#include "lib/log.h"

/* mount(2) takes one page of options (nydus caps them the same way). */
#define FAN_MOUNT_OPTS_MAX	4095
#define BDI_DIR		"/sys/class/bdi"
#define BDI_PREFIX	"erofs-"

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

static int fan_mount_with_readahead(int (*do_mount)(void *ctx), void *ctx,
				    unsigned int kb, const char *mountpoint)
{
	unsigned int nr_new;
	long before, seq = -1;
	int ret, err;

	before = kb ? fan_bdi_scan(-1, &nr_new, &seq) : -1;
	ret = do_mount(ctx);
	if (ret || !kb)
		return ret;
	/* Ours is new: when it is the only new one, it is that one. */
	fan_bdi_scan(before, &nr_new, &seq);
	if (nr_new != 1) {
		log_debug("mount on %s: %u new erofs bdis, not one: its read-ahead stays the kernel's",
			  mountpoint, nr_new);
		return 0;
	}
	err = fan_bdi_set_readahead(seq, kb);
	if (err)
		log_debug("mount on %s: cannot set the read-ahead of bdi erofs-%ld: %s",
			  mountpoint, seq, strerror(-err));
	else
		log_debug("mount on %s: read-ahead %u KiB (bdi erofs-%ld)",
			  mountpoint, kb, seq);
	return 0;
}

static int fan_mount_options(const struct fan_mount *m, char *opts,
			     size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	opts[0] = '\0';
	if (m->single)
		return 0;
	for (i = 0; i < m->nr_files; i++) {
		n = snprintf(opts + used, size - used, "%sdevice=%s",
			     i ? "," : "", m->files[i]->path);
		if (n < 0 || (size_t)n >= size - used)
			return -E2BIG;
		used += n;
	}
	return 0;
}

/*
 * mount(2) in a child: the superblock and metadata it reads from a blob
 * file raise events of another pid than ours, which are filled before they
 * are allowed (our own pid's are allowed at once: our fills).
 */
static int fan_mount_in_child(const char *source, const char *target,
			      const char *opts)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (mount(source, target, "erofs", MS_RDONLY | MS_NODEV, opts))
			_exit(errno > 0 && errno < 256 ? errno : EIO);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -EIO;
	return -WEXITSTATUS(status);
}

struct fan_mount_call {
	const char *source, *target, *opts;
	bool in_child;
};

static int fan_mount_call(void *ctx)
{
	const struct fan_mount_call *c = ctx;

	if (c->in_child)
		return fan_mount_in_child(c->source, c->target, c->opts);
	return mount(c->source, c->target, "erofs", MS_RDONLY | MS_NODEV,
		     c->opts) ? -errno : 0;
}

/*
 * @boot: the bootstrap file to mount, when not m->source (an inlined one).
 * The mount reads ahead by @ra_kb (0: the kernel's default).
 */
int fan_do_mount(struct fan_mount *m, const char *boot, unsigned int ra_kb,
		 char *why, size_t len)
{
	char opts[FAN_MOUNT_OPTS_MAX + 1];
	const char *source = m->single ? m->files[0]->path :
			     boot ? boot : m->source;
	struct fan_mount_call call = { .source = source,
				       .target = m->mountpoint,
				       .in_child = m->single };
	int ret;

	ret = fan_mount_options(m, opts, sizeof(opts));
	if (ret) {
		snprintf(why, len, "the %u blob file paths do not fit in mount(2)'s %d bytes of options: use a shorter cache directory path",
			 m->nr_files, FAN_MOUNT_OPTS_MAX);
		return ret;
	}
	call.opts = m->single || !opts[0] ? NULL : opts;
	ret = fan_mount_with_readahead(fan_mount_call, &call, ra_kb,
				       m->mountpoint);
	if (!ret)
		return 0;
	errno = -ret;
	if (errno == ENODEV)
		snprintf(why, len, "mount: the kernel has no EROFS (modprobe erofs; CONFIG_EROFS_FS)");
	else if (errno == ENOTBLK || errno == EINVAL)
		snprintf(why, len, "mount of %s on %s failed: %s: the kernel may lack file-backed EROFS (CONFIG_EROFS_FS_BACKED_BY_FILE, Linux 6.12+), or the image is no EROFS image (dmesg says more)",
			 source, m->mountpoint, strerror(errno));
	else
		snprintf(why, len, "mount of %s on %s failed: %s", source,
			 m->mountpoint, strerror(errno));
	return ret;
}
