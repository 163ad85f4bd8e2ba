// SPDX-License-Identifier: GPL-2.0
/*
 * nydusd's mount API: POST, DELETE and GET /api/v1/mount?mountpoint=DIR,
 * with {"source": BOOTSTRAP, "fs_type": "rafs"|"erofs", "config": ...}.
 * "config" is JSON inside a string, as nydusd takes it; an object is
 * taken too.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "api.h"
#include "mounts.h"
#include "server.h"

static const struct api_daemon *daemon_of(void *ctx)
{
	return ctx;
}

/* -errno of a mount call as an HTTP answer. */
static void mount_error(struct api_response *resp, int err, const char *why)
{
	switch (err) {
	case -EINVAL:
	case -E2BIG:
		api_error(resp, 400, "InvalidRequest", "%s", why);
		break;
	case -ENOENT:
		api_error(resp, 404, "NotFound", "%s", why);
		break;
	case -EEXIST:
	case -EBUSY:
		api_error(resp, 409, "Conflict", "%s", why);
		break;
	case -EOPNOTSUPP:
		api_error(resp, 501, "NotImplemented", "%s", why);
		break;
	default:
		api_error(resp, 500, "InternalError", "%s (%s)", why,
			  strerror(-err));
	}
}

static const char *mountpoint_of(const struct api_request *req,
				 struct api_response *resp)
{
	const char *mp = api_query(req, "mountpoint");

	if (!mp || mp[0] != '/') {
		api_error(resp, 400, "InvalidRequest",
			  "give ?mountpoint=/absolute/path");
		return NULL;
	}
	return mp;
}

static bool no_mounts(const struct api_daemon *d, struct api_response *resp)
{
	if (d->mount)
		return false;
	api_error(resp, 501, "NotImplemented", "this daemon cannot mount");
	return true;
}

void api_post_mount(void *ctx, const struct api_request *req,
		    struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	const char *mp, *source = NULL, *fs_type = NULL, *config = NULL;
	struct json_object *body;
	char why[512] = "";
	int ret;

	if (no_mounts(d, resp) || !(mp = mountpoint_of(req, resp)))
		return;
	body = api_body_object(req, resp);
	if (!body)
		return;
	json_object_object_foreach(body, key, val) {
		if (!strcmp(key, "source") &&
		    json_object_is_type(val, json_type_string))
			source = json_object_get_string(val);
		else if (!strcmp(key, "fs_type") &&
			 json_object_is_type(val, json_type_string))
			fs_type = json_object_get_string(val);
		else if (!strcmp(key, "config") &&
			 json_object_is_type(val, json_type_string))
			config = json_object_get_string(val);
		else if (!strcmp(key, "config") &&
			 json_object_is_type(val, json_type_object))
			config = json_object_to_json_string(val);
		else if (strcmp(key, "prefetch_files")) {
			api_error(resp, 400, "InvalidRequest",
				  "field '%s' is unknown or of the wrong type (source, fs_type and config are strings; config may be an object)",
				  key);
			goto out;
		}
	}
	if (!source) {
		api_error(resp, 400, "InvalidRequest",
			  "give \"source\": the image's bootstrap file");
		goto out;
	}
	ret = d->mount(d->ctx, mp, source, fs_type, config && *config ? config : NULL,
		       why, sizeof(why));
	if (ret)
		mount_error(resp, ret, why);
	else
		resp->status = 204;
out:
	json_object_put(body);
}

void api_delete_mount(void *ctx, const struct api_request *req,
		      struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	char why[512] = "";
	const char *mp;
	int ret;

	if (no_mounts(d, resp) || !(mp = mountpoint_of(req, resp)))
		return;
	ret = d->umount(d->ctx, mp, why, sizeof(why));
	if (ret)
		mount_error(resp, ret, why);
	else
		resp->status = 204;
}

void api_get_mount(void *ctx, const struct api_request *req,
		   struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	struct json_object *all, *one;
	const char *mp = api_query(req, "mountpoint");

	if (no_mounts(d, resp))
		return;
	all = d->mounts(d->ctx);
	if (!all) {
		api_error(resp, 501, "NotImplemented", "this daemon cannot mount");
		return;
	}
	if (mp && *mp) {
		if (!json_object_object_get_ex(all, mp, &one)) {
			api_error(resp, 404, "NotFound", "nothing is mounted on %s", mp);
			json_object_put(all);
			return;
		}
		resp->json = json_object_get(one);
		json_object_put(all);
	} else {
		resp->json = all;
	}
	resp->status = 200;
}
