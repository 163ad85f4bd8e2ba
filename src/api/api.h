/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control API (nydusd-compatible, see ../shared/reference/nydus-api.md)
 * over what the daemon provides.
 */
#ifndef FSCACHED_API_H
#define FSCACHED_API_H

#include <stddef.h>

struct api_server;
struct config_update;
struct bindings;
struct json_object;

struct api_daemon {
	void *ctx;
	/* {"id", "version": {...}, "state"}: a new reference. */
	struct json_object *(*info)(void *ctx);
	/* The counters, as SIGUSR1 writes them: a new reference. */
	struct json_object *(*stats)(void *ctx);
	/* Begin a clean shutdown. */
	void (*exit)(void *ctx);
	/*
	 * nydusd's lifecycle (--upgrade, --supervisor): return 0, or -errno
	 * with the reason in @why: -EINVAL is the caller's mistake (400),
	 * -EBUSY the wrong state for it (409), anything else a failure (500).
	 */
	int (*start)(void *ctx, char *why, size_t len);
	int (*sendfd)(void *ctx, char *why, size_t len);
	int (*takeover)(void *ctx, char *why, size_t len);
	/*
	 * Remove the cache files of blob @blob_id: how many, or -ENOENT
	 * (none), -EBUSY (in use), another -errno with @why.
	 */
	int (*cull)(void *ctx, const char *blob_id, char *why, size_t len);
	/*
	 * PUT /api/v1/config: change the configurations with id @id (NULL:
	 * all); how many took the change, or -errno.
	 */
	int (*update_config)(void *ctx, const char *id,
			     const struct config_update *u);
	/*
	 * nydusd's mount API (/api/v1/mount), where the daemon mounts (the
	 * fanotify front end): 0, or -errno with @why. @config is the
	 * image's ConfigV2 JSON text, or NULL for the daemon's own.
	 */
	int (*mount)(void *ctx, const char *mountpoint, const char *source,
		     const char *fs_type, const char *config, char *why,
		     size_t len);
	int (*umount)(void *ctx, const char *mountpoint, char *why, size_t len);
	/* {"mountpoint": {...}}: a new reference, NULL when it cannot mount */
	struct json_object *(*mounts)(void *ctx);
	/* Images bound through PUT /api/v2/blobs. */
	struct bindings *bindings;
};

/* Serve the API on the unix socket @path; @d must outlive the server. */
int api_start(const char *path, const struct api_daemon *d,
	      struct api_server **out);
void api_server_stop(struct api_server *s);

#endif
