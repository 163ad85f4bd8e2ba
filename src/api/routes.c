// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoints of nydusd's API that fscached answers, in the shapes the
 * snapshotter and nydusctl expect, on top of the daemon's own counters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "blobs.h"
#include "mounts.h"
#include "config/config.h"
#include "lib/log.h"
#include "server.h"

static const struct api_daemon *daemon_of(void *ctx)
{
	return ctx;
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

static void get_daemon_info(void *ctx, const struct api_request *req,
			    struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);

	(void)req;
	resp->json = d->info(d->ctx);
}

static void get_daemon_v2(void *ctx, const struct api_request *req,
			  struct api_response *resp)
{
	get_daemon_info(ctx, req, resp);
	if (resp->json)
		json_object_object_add(resp->json, "log_level",
			json_object_new_string(log_level_name(log_get_level())));
}

static void put_daemon_v2(void *ctx, const struct api_request *req,
			  struct api_response *resp)
{
	struct json_object *body, *v;
	enum log_level level;

	(void)ctx;
	body = api_body_object(req, resp);
	if (!body)
		return;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "log_level")) {
			api_error(resp, 400, "InvalidRequest",
				  "unknown field '%s' (only log_level can be set)", key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(body, "log_level", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    log_parse_level(json_object_get_string(v), &level)) {
		api_error(resp, 400, "InvalidRequest",
			  "log_level must be one of error, warn, info, debug, trace");
		goto out;
	}
	log_set_level(level);
	log_info("log level set to %s through the API", log_level_name(level));
	resp->status = 204;
out:
	json_object_put(body);
}

static void put_daemon_exit(void *ctx, const struct api_request *req,
			    struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);

	(void)req;
	log_info("exit requested through the API");
	/* After the 204 is sent: the stop closes the API's connections. */
	resp->then = d->exit;
	resp->then_ctx = d->ctx;
	resp->status = 204;
}

/*
 * The daemon's counters and their "factory.total" part; on failure a 500
 * in @resp and NULL. The caller puts *@stats.
 */
static struct json_object *stats_total(const struct api_daemon *d,
				       struct api_response *resp,
				       struct json_object **stats)
{
	struct json_object *total;

	*stats = d->stats(d->ctx);
	if (!json_object_object_get_ex(*stats, "factory", &total) ||
	    !json_object_object_get_ex(total, "total", &total)) {
		json_object_put(*stats);
		*stats = NULL;
		api_error(resp, 500, "InternalError", "no statistics");
		return NULL;
	}
	return total;
}

/* One of nydusd's metric names, from one of our counters. */
struct metric_map {
	const char *name;
	const char *counter;
	uint64_t divisor;
};

/* nydusd's BlobcacheMetrics names we can fill honestly, plus ours whole. */
static const struct metric_map blobcache_metrics[] = {
	{ "entries_count", "blobs", 1 },
	{ "total", "fills", 1 },
	{ "prefetch_data_amount", "prefetch_bytes", 1 },
	{ "prefetch_requests_count", "prefetch_fills", 1 },
	{ "prefetch_errors", "prefetch_errors", 1 },
	{ NULL, NULL, 0 },
};

static const struct metric_map backend_metrics[] = {
	{ "read_count", "backend_reads", 1 },
	{ "read_errors", "backend_errors", 1 },
	{ "read_amount_total", "backend_read_bytes", 1 },
	{ "read_cumulative_latency_millis_total", "fetch_us", 1000 },
	{ NULL, NULL, 0 },
};

static void get_metrics(void *ctx, struct api_response *resp,
			const struct metric_map *map, bool with_ours)
{
	const struct api_daemon *d = daemon_of(ctx);
	struct json_object *stats, *total, *o;

	total = stats_total(d, resp, &stats);
	if (!total)
		return;
	o = json_object_new_object();
	for (; map->name; map++)
		json_object_object_add(o, map->name, json_object_new_uint64(
			get_u64(total, map->counter) / map->divisor));
	if (with_ours)
		json_object_object_add(o, "fscached", json_object_get(total));
	json_object_put(stats);
	resp->json = o;
}

static void lifecycle_call(void *ctx, struct api_response *resp,
			   int (*call)(void *ctx, char *why, size_t len),
			   const char *what)
{
	const struct api_daemon *d = daemon_of(ctx);
	char why[256] = "";
	int ret;

	if (!call) {
		api_error(resp, 501, "NotImplemented", "%s is not available", what);
		return;
	}
	ret = call(d->ctx, why, sizeof(why));
	if (!ret) {
		resp->status = 204;
		return;
	}
	if (!*why)
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	if (ret == -EINVAL)
		api_error(resp, 400, "InvalidRequest", "%s: %s", what, why);
	else if (ret == -EBUSY)
		api_error(resp, 409, "InvalidState", "%s: %s", what, why);
	else
		api_error(resp, 500, "InternalError", "%s: %s", what, why);
}

static void put_daemon_start(void *ctx, const struct api_request *req,
			     struct api_response *resp)
{
	(void)req;
	lifecycle_call(ctx, resp, daemon_of(ctx)->start, "start");
}

static void put_daemon_sendfd(void *ctx, const struct api_request *req,
			      struct api_response *resp)
{
	(void)req;
	lifecycle_call(ctx, resp, daemon_of(ctx)->sendfd, "sendfd");
}

static void put_daemon_takeover(void *ctx, const struct api_request *req,
				struct api_response *resp)
{
	(void)req;
	lifecycle_call(ctx, resp, daemon_of(ctx)->takeover, "takeover");
}

/* nydusd's run-time change of credentials and proxy. */
static void put_config(void *ctx, const struct api_request *req,
		       struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	struct config_update u = { NULL, NULL };
	const char *id = api_query(req, "id");
	struct json_object *body;
	int ret;

	body = api_body_object(req, resp);
	if (!body)
		return;
	json_object_object_foreach(body, key, val) {
		const char **field = !strcmp(key, "registry_auth") ? &u.registry_auth :
				     !strcmp(key, "proxy_url") ? &u.proxy_url : NULL;

		if (!field) {
			api_error(resp, 400, "InvalidRequest",
				  "unknown field '%s' (registry_auth and proxy_url can be changed)",
				  key);
			goto out;
		}
		if (!json_object_is_type(val, json_type_string)) {
			api_error(resp, 400, "InvalidRequest",
				  "%s must be a string (\"\" to remove it)", key);
			goto out;
		}
		*field = json_object_get_string(val);
	}
	if (!u.registry_auth && !u.proxy_url) {
		api_error(resp, 400, "InvalidRequest",
			  "nothing to change: give registry_auth or proxy_url");
		goto out;
	}
	if (!d->update_config) {
		api_error(resp, 501, "NotImplemented", "this daemon cannot change its configuration");
		goto out;
	}
	ret = d->update_config(d->ctx, id && *id ? id : NULL, &u);
	if (ret == -ENOENT)
		api_error(resp, 404, "NotFound",
			  "no configuration%s%s takes %s%s%s",
			  id && *id ? " with id " : "", id && *id ? id : "",
			  u.registry_auth ? "registry_auth (registry backends)" : "",
			  u.registry_auth && u.proxy_url ? " or " : "",
			  u.proxy_url ? "proxy_url (remote backends)" : "");
	else if (ret < 0)
		api_error(resp, 500, "InternalError", "%s", strerror(-ret));
	else
		resp->status = 204;
out:
	json_object_put(body);
}

/*
 * nydusd's file system metrics (GET /api/v1/metrics), which the snapshotter
 * polls: what an fscache daemon can say of them.
 */
static void get_fs_metrics(void *ctx, const struct api_request *req,
			   struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	struct json_object *stats, *info, *fe, *o, *v;
	static const char *const lists[] = {
		"block_count_read", "fop_hits", "fop_errors",
		"fop_cumulative_latency_total", "read_latency_dist", NULL,
	};
	const char *const *l;

	(void)req;
	stats = d->stats(d->ctx);
	info = d->info(d->ctx);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_object_get_ex(info, "id", &v) ?
			       json_object_get(v) : NULL);
	if (!json_object_object_get_ex(stats, "frontend", &fe))
		fe = NULL;
	json_object_object_add(o, "data_read",
			       json_object_new_uint64(get_u64(fe, "read_bytes")));
	json_object_object_add(o, "nr_opens",
			       json_object_new_uint64(get_u64(fe, "opens")));
	json_object_object_add(o, "files_account_enabled",
			       json_object_new_boolean(false));
	json_object_object_add(o, "access_pattern_enabled",
			       json_object_new_boolean(false));
	json_object_object_add(o, "measure_latency",
			       json_object_new_boolean(false));
	for (l = lists; *l; l++)
		json_object_object_add(o, *l, json_object_new_array());
	json_object_put(info);
	json_object_put(stats);
	resp->json = o;
}

static void get_blobcache_metrics(void *ctx, const struct api_request *req,
				  struct api_response *resp)
{
	(void)req;
	get_metrics(ctx, resp, blobcache_metrics, true);
}

static void get_backend_metrics(void *ctx, const struct api_request *req,
				struct api_response *resp)
{
	(void)req;
	get_metrics(ctx, resp, backend_metrics, false);
}

/* Prometheus text exposition: every numeric counter, flattened. */
static void prometheus_walk(FILE *f, const char *prefix,
			    struct json_object *o)
{
	char name[256];

	json_object_object_foreach(o, key, val) {
		snprintf(name, sizeof(name), "%s_%s", prefix, key);
		if (json_object_is_type(val, json_type_object))
			prometheus_walk(f, name, val);
		else if (json_object_is_type(val, json_type_int))
			fprintf(f, "%s %" PRIu64 "\n", name,
				json_object_get_uint64(val));
	}
}

static void get_prometheus(void *ctx, const struct api_request *req,
			   struct api_response *resp)
{
	const struct api_daemon *d = daemon_of(ctx);
	struct json_object *stats, *v;
	size_t len = 0;
	char *text = NULL;
	FILE *f;

	(void)req;
	f = open_memstream(&text, &len);
	if (!f) {
		api_error(resp, 500, "InternalError", "out of memory");
		return;
	}
	stats = d->stats(d->ctx);
	if (json_object_object_get_ex(stats, "frontend", &v))
		prometheus_walk(f, "fscached_frontend", v);
	if (json_object_object_get_ex(stats, "network", &v))
		prometheus_walk(f, "fscached_network", v);
	if (json_object_object_get_ex(stats, "factory", &v) &&
	    json_object_object_get_ex(v, "total", &v))
		prometheus_walk(f, "fscached_cache", v);
	json_object_put(stats);
	fclose(f);
	resp->text = text;
	resp->content_type = "text/plain; version=0.0.4";
}

static const struct api_route api_routes[] = {
	{ "GET", "/api/v1/daemon", get_daemon_info },
	{ "GET", "/api/v2/daemon", get_daemon_v2 },
	{ "PUT", "/api/v2/daemon", put_daemon_v2 },
	{ "PUT", "/api/v1/daemon/exit", put_daemon_exit },
	{ "PUT", "/api/v1/daemon/start", put_daemon_start },
	{ "PUT", "/api/v1/config", put_config },
	{ "PUT", "/api/v1/daemon/fuse/sendfd", put_daemon_sendfd },
	{ "PUT", "/api/v1/daemon/fuse/takeover", put_daemon_takeover },
	{ "GET", "/api/v1/metrics", get_fs_metrics },
	{ "GET", "/api/v1/metrics/blobcache", get_blobcache_metrics },
	{ "GET", "/api/v1/metrics/backend", get_backend_metrics },
	{ "GET", "/metrics", get_prometheus },
	{ "PUT", "/api/v2/blobs", api_put_blobs },
	{ "DELETE", "/api/v2/blobs", api_delete_blobs },
	{ "GET", "/api/v2/blobs", api_get_blobs },
	{ "POST", "/api/v1/mount", api_post_mount },
	{ "DELETE", "/api/v1/mount", api_delete_mount },
	{ "GET", "/api/v1/mount", api_get_mount },
	{ NULL, NULL, NULL },
};

int api_start(const char *path, const struct api_daemon *d,
	      struct api_server **out)
{
	return api_server_start(path, api_routes, (void *)d, out);
}
