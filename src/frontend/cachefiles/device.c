// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cachefiles.h"
#include "device.h"
#include "lib/fs_type.h"
#include "lib/log.h"

#define KBUILD_HINT "see Kbuild-notes.md"

int cachefiles_dev_open(const char *path, bool quiet_busy)
{
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		log_error("cannot open %s: %s. The kernel needs CONFIG_CACHEFILES=y (or `modprobe cachefiles`) and CONFIG_CACHEFILES_ONDEMAND=y, and /dev must be devtmpfs (%s)",
			  path, strerror(err), KBUILD_HINT);
		break;
	case EBUSY:
		if (quiet_busy)
			break;
		log_error("cannot open %s: it is busy: another cache daemon holds it (is cachefilesd or nydusd running? stop it first: `systemctl stop cachefilesd`)",
			  path);
		break;
	case EACCES:
	case EPERM:
		log_error("cannot open %s: %s: fscached needs root (CAP_SYS_ADMIN)",
			  path, strerror(err));
		break;
	default:
		log_error("cannot open %s: %s", path, strerror(err));
	}
	return -err;
}

static int dev_command(int dev_fd, const char *fmt, const char *arg)
{
	char cmd[PATH_MAX + 32];
	ssize_t n;
	int len;

	len = snprintf(cmd, sizeof(cmd), fmt, arg);
	if (len < 0 || (size_t)len >= sizeof(cmd))
		return -ENAMETOOLONG;
	n = write(dev_fd, cmd, len);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path), i;

	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		tmp[i] = path[i];
	}
	return 0;
}

int cachefiles_dev_limit(int dev_fd, const char *name, unsigned int percent)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "%s %u%%", name, percent);
	return dev_command(dev_fd, "%s", cmd);
}

/*
 * One group (blocks or files): the kernel wants stop < cull < run after
 * every command, so raising goes run first and lowering stop first.
 */
static int set_group(int dev_fd, const char *const names[3],
		     const unsigned int vals[3])
{
	static const int up[3] = { 0, 1, 2 }, down[3] = { 2, 1, 0 };
	const int *order = up;
	int i, ret = 0, tries;

	for (tries = 0; tries < 2; tries++, order = down) {
		for (i = 0; i < 3; i++) {
			ret = cachefiles_dev_limit(dev_fd, names[order[i]],
						   vals[order[i]]);
			if (ret)
				break;
		}
		if (!ret)
			return 0;
	}
	log_error("the kernel refused the cache limits %s=%u%% %s=%u%% %s=%u%%: %s",
		  names[0], vals[0], names[1], vals[1], names[2], vals[2],
		  strerror(-ret));
	return ret;
}

static int set_limits(int dev_fd, const struct cache_limits *lim)
{
	static const char *const b[3] = { "brun", "bcull", "bstop" };
	static const char *const f[3] = { "frun", "fcull", "fstop" };
	const unsigned int bv[3] = { lim->brun, lim->bcull, lim->bstop };
	const unsigned int fv[3] = { lim->frun, lim->fcull, lim->fstop };
	int ret;

	if (lim->off)
		return 0;
	ret = set_group(dev_fd, b, bv);
	return ret ? ret : set_group(dev_fd, f, fv);
}

int cachefiles_dev_bind(int dev_fd, const char *cache_dir, const char *tag,
			const struct cache_limits *limits)
{
	struct statfs sfs;
	const char *fs = NULL;
	int ret;

	ret = mkdir_p(cache_dir);
	if (ret) {
		log_error("cannot create cache directory %s: %s", cache_dir,
			  strerror(-ret));
		return ret;
	}
	if (!statfs(cache_dir, &sfs))
		fs = fs_type_name((unsigned long)sfs.f_type);

	ret = dev_command(dev_fd, "dir %s", cache_dir);
	if (ret) {
		log_error("cachefiles refused cache directory %s: %s",
			  cache_dir, strerror(-ret));
		return ret;
	}
	if (tag && *tag) {
		ret = dev_command(dev_fd, "tag %s", tag);
		if (ret) {
			log_error("cachefiles refused tag '%s': %s (at most 32 characters)",
				  tag, strerror(-ret));
			return ret;
		}
	}
	ret = set_limits(dev_fd, limits);
	if (ret)
		return ret;
	ret = dev_command(dev_fd, "bind %s", "ondemand");
	switch (ret) {
	case 0:
		return 0;
	case -EINVAL:
		log_error("bind ondemand failed: %s: the kernel lacks CONFIG_CACHEFILES_ONDEMAND=y (%s)",
			  strerror(-ret), KBUILD_HINT);
		break;
	case -EOPNOTSUPP:
		log_error("bind ondemand failed: %s: the filesystem of %s (%s) cannot hold a cachefiles cache; it needs xattrs and sync_fs: use ext4, xfs or btrfs, not tmpfs, overlayfs or a network filesystem",
			  strerror(-ret), cache_dir, fs ? fs : "unknown type");
		break;
	case -EBUSY:
		log_error("bind ondemand failed: %s: this cache is already bound",
			  strerror(-ret));
		break;
	default:
		log_error("bind ondemand on %s failed: %s (dmesg may say more)",
			  cache_dir, strerror(-ret));
	}
	return ret;
}

int cachefiles_dev_cull(int dev_fd, const char *name)
{
	return dev_command(dev_fd, "cull %s", name);
}

/*
 * The device number of the cachefiles misc device: from its node, or in a
 * container without one from /proc/misc ("<minor> cachefiles", major 10).
 */
static int cachefiles_dev_number(dev_t *rdev)
{
	unsigned int minor;
	struct stat dev;
	char name[64];
	FILE *f;
	int ret = -ENOENT;

	if (!stat(CACHEFILES_DEV_PATH, &dev) && S_ISCHR(dev.st_mode)) {
		*rdev = dev.st_rdev;
		return 0;
	}
	f = fopen("/proc/misc", "re");
	if (!f)
		return -errno;
	while (ret && fscanf(f, "%u %63s", &minor, name) == 2)
		if (!strcmp(name, "cachefiles")) {
			*rdev = makedev(10, minor);
			ret = 0;
		}
	fclose(f);
	return ret;
}

int cachefiles_dev_check_held(int dev_fd)
{
	struct stat held;
	dev_t rdev = 0;

	if (fstat(dev_fd, &held))
		return -errno;
	if (!S_ISCHR(held.st_mode) || cachefiles_dev_number(&rdev) ||
	    rdev != held.st_rdev) {
		log_error("the descriptor handed over (fd %d) is not %s; not taking it over",
			  dev_fd, CACHEFILES_DEV_PATH);
		return -ENOTTY;
	}
	return 0;
}

int cachefiles_dev_restore(int dev_fd)
{
	int ret = dev_command(dev_fd, "%s", "restore");

	switch (ret) {
	case 0:
		return 0;
	case -EOPNOTSUPP:
	case -EINVAL:
		log_error("the kernel refused \"restore\": %s: taking over a running cache needs on-demand failover (Linux 6.8, or a 6.1.y/6.6.y with it backported) (%s)",
			  strerror(-ret), KBUILD_HINT);
		break;
	default:
		log_error("the kernel refused \"restore\" on the handed-over device: %s (is its cache still bound?)",
			  strerror(-ret));
	}
	return ret;
}

int cachefiles_dev_copen(int dev_fd, uint32_t msg_id, int64_t size)
{
	char cmd[64];
	ssize_t n;
	int len;

	len = snprintf(cmd, sizeof(cmd), "copen %" PRIu32 ",%" PRId64, msg_id,
		       size);
	n = write(dev_fd, cmd, len);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

bool cachefiles_anon_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	if (fd < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[cachefiles]");
}
