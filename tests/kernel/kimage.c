// SPDX-License-Identifier: GPL-2.0
/*
 * Mounting an image through whichever front end the daemon runs: the
 * front-end-neutral kernel tests say what to mount, and this says how.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format/erofs.h"
#include "lib/compiler.h"
#include "holder.h"
#include "ktest.h"

bool ktest_on_fanotify(const struct ktest_daemon *d)
{
	return d->frontend && !strcmp(d->frontend, "fanotify");
}

/* PUT /api/v2/blobs of @im, as nydus-snapshotter binds a bootstrap. */
static int cachefiles_bind(struct ktest_daemon *d, const struct ktest_image *im)
{
	struct json_object *body = json_object_new_object(), *cfg;
	int status;

	cfg = json_tokener_parse(im->config);
	if (!cfg) {
		json_object_put(body);
		return -EINVAL;
	}
	json_object_object_add(body, "type", json_object_new_string("bootstrap"));
	json_object_object_add(body, "id", json_object_new_string(im->fsid));
	if (im->domain)
		json_object_object_add(body, "domain_id",
				       json_object_new_string(im->domain));
	if (im->bootstrap)
		json_object_object_add(body, "metadata_path",
				       json_object_new_string(im->bootstrap));
	json_object_object_add(body, "config_v2", cfg);
	status = ktest_api(d->api_sock, "PUT", "/api/v2/blobs",
			   json_object_to_json_string(body));
	json_object_put(body);
	/* 409: bound in that domain already, by the mount before a remount. */
	return status == 204 || status == 409 ? 0 : -EIO;
}

int ktest_image_mount(struct ktest_daemon *d, const struct ktest_image *im,
		      const char *mnt)
{
	int ret, status;

	if (!ktest_on_fanotify(d)) {
		if (im->config) {
			ret = cachefiles_bind(d, im);
			if (ret)
				return ret;
		}
		return ktest_mount(im->fsid, im->domain, mnt);
	}
	if (im->bootstrap)
		status = ktest_api_mount(d->api_sock, mnt, im->bootstrap,
					 "rafs", im->config);
	else
		status = ktest_api_mount(d->api_sock, mnt, im->fsid, "erofs",
					 im->config);
	if (status == 204)
		return 0;
	fprintf(stderr, "# POST /api/v1/mount of %s on %s: HTTP %d\n",
		      im->bootstrap ? im->bootstrap : im->fsid, mnt, status);
	return -EIO;
}

/*
 * Whether the EROFS image at @path names extra devices (a bootstrap whose
 * data is in blobs of its own), by the daemon's own superblock parser.
 */
static bool erofs_has_devices(const char *path)
{
	unsigned char sb[EROFS_SB_SIZE];
	struct erofs_sb_summary sum;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, sb, sizeof(sb), EROFS_SB_OFFSET);
	close(fd);
	return n == sizeof(sb) && !erofs_sb_parse(sb, sizeof(sb), &sum) &&
	       sum.extra_devices;
}

int ktest_mount_on(struct ktest_daemon *d, const char *fsid,
		   const char *domain, const char *mnt)
{
	return ktest_mount_config(d, fsid, domain, NULL, mnt);
}

int ktest_mount_config(struct ktest_daemon *d, const char *fsid,
		       const char *domain, const char *config, const char *mnt)
{
	char boot[PATH_MAX];
	struct ktest_image im = { .fsid = fsid, .domain = domain,
				  .config = config };

	snprintf(boot, sizeof(boot), "%s/blobs/%s", ktest_images(), fsid);
	if (ktest_on_fanotify(d) && !strchr(fsid, '/') && fsid[0] != '.' &&
	    erofs_has_devices(boot))
		im.bootstrap = boot;
	return ktest_image_mount(d, &im, mnt);
}

const char *ktest_lazy_main(const struct ktest_daemon *d,
			    const char **data_blob)
{
	char release[128];
	bool split = ktest_on_fanotify(d) &&
		     ktest_kernel_before(7, 3, release, sizeof(release));

	if (data_blob)
		*data_blob = split ? "main-data" : "plain";
	return split ? "main-boot" : "plain";
}

int ktest_image_umount(struct ktest_daemon *d, const char *mnt)
{
	int status;

	if (!ktest_on_fanotify(d))
		return ktest_umount(mnt);
	status = ktest_api_umount(d->api_sock, mnt);
	return status == 204 ? 0 : status == 404 ? -EINVAL : -EIO;
}

int ktest_frontend_counter(struct ktest_daemon *d, const char *name,
			   uint64_t *value)
{
	static const char *const renamed[][2] = {
		{ "reads", "fills" },
		{ "read_errors", "fill_errors" },
		{ "open_errors", "mount_errors" },
	};
	uint64_t fills, errors;
	char path[64];
	size_t i;
	int ret;

	if (ktest_on_fanotify(d) && !strcmp(name, "read_requests")) {
		ret = ktest_daemon_counter(d, "frontend.fills", &fills);
		if (!ret)
			ret = ktest_daemon_counter(d, "frontend.fill_errors",
						   &errors);
		if (!ret)
			*value = fills + errors;
		return ret;
	}
	for (i = 0; ktest_on_fanotify(d) && i < ARRAY_SIZE(renamed); i++)
		if (!strcmp(name, renamed[i][0]))
			name = renamed[i][1];
	snprintf(path, sizeof(path), "frontend.%s", name);
	return ktest_daemon_counter(d, path, value);
}

int ktest_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY), ret = 0;

	if (fd < 0)
		return 0;
	if (write(fd, "3", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}
