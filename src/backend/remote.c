// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/list.h"
#include "lib/log.h"
#include "remote.h"

int remote_blob_new(const char *id, struct remote_blob **out)
{
	struct remote_blob *rb = calloc(1, sizeof(*rb));

	if (!rb)
		return -ENOMEM;
	rb->id = strdup(id);
	if (!rb->id) {
		free(rb);
		return -ENOMEM;
	}
	pthread_mutex_init(&rb->lock, NULL);
	*out = rb;
	return 0;
}

void remote_blob_free(struct remote_blob *rb)
{
	if (!rb)
		return;
	pthread_mutex_destroy(&rb->lock);
	free(rb->redirect);
	free(rb->id);
	free(rb);
}

static bool in_list(const char *key, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(key, *list))
			return true;
	return false;
}

int remote_check_config(struct json_object *cfg, const char *where,
			const char *const *own, const char *const *required,
			char *err, size_t errlen)
{
	struct http_config hc;
	struct json_object *v;
	int ret;

	json_object_object_foreach(cfg, key, val) {
		if (in_list(key, own) || http_config_field(key))
			continue;
		ret = backend_nydus_field(key, val, where, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret) {
			snprintf(err, errlen, "%s.%s: unknown field", where,
				 key);
			return -EINVAL;
		}
	}
	for (; required && *required; required++) {
		if (!json_object_object_get_ex(cfg, *required, &v)) {
			snprintf(err, errlen, "%s.%s: missing", where,
				 *required);
			return -EINVAL;
		}
		if (!json_object_is_type(v, json_type_string) ||
		    !*json_object_get_string(v)) {
			snprintf(err, errlen,
				 "%s.%s: must be a non-empty string", where,
				 *required);
			return -EINVAL;
		}
	}
	json_object_object_foreach(cfg, k2, v2) {
		if (in_list(k2, own) && !json_object_is_type(v2, json_type_string) &&
		    !json_object_is_type(v2, json_type_boolean) &&
		    !json_object_is_type(v2, json_type_array)) {
			snprintf(err, errlen, "%s.%s: must be a string", where,
				 k2);
			return -EINVAL;
		}
	}
	/* Every backend with a "scheme" option speaks HTTP or HTTPS. */
	if (in_list("scheme", own)) {
		const char *scheme = remote_string(cfg, "scheme", "https");

		if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
			snprintf(err, errlen,
				 "%s.scheme: '%s' must be http or https",
				 where, scheme);
			return -EINVAL;
		}
	}
	ret = http_config_parse(cfg, where, &hc, err, errlen);
	if (!ret)
		http_config_release(&hc);
	return ret;
}

int remote_check_object_store(struct json_object *cfg, const char *where,
			      char *err, size_t errlen)
{
	if (!remote_string(cfg, "access_key_id", NULL) !=
	    !remote_string(cfg, "access_key_secret", NULL)) {
		snprintf(err, errlen,
			 "%s: access_key_id and access_key_secret go together",
			 where);
		return -EINVAL;
	}
	if (strstr(remote_string(cfg, "endpoint", ""), "://")) {
		snprintf(err, errlen,
			 "%s.endpoint: a host[:port] without a scheme (use \"scheme\")",
			 where);
		return -EINVAL;
	}
	return 0;
}

const char *remote_string(struct json_object *cfg, const char *key,
			  const char *def)
{
	struct json_object *v;

	if (json_object_object_get_ex(cfg, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    *json_object_get_string(v))
		return json_object_get_string(v);
	return def;
}

bool remote_bool(struct json_object *cfg, const char *key, bool def)
{
	struct json_object *v;

	if (json_object_object_get_ex(cfg, key, &v) &&
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return def;
}

int remote_client_create(struct json_object *cfg, struct backend *be,
			 struct http_client **out)
{
	struct http_config hc;
	char err[256];
	int ret;

	ret = http_config_parse(cfg, "backend", &hc, err, sizeof(err));
	if (ret)
		return ret;
	ret = http_client_create(&hc, &be->stats.connections, out);
	http_config_release(&hc);
	return ret;
}

int remote_blob_size(struct http_client *c, struct http_call *call,
		     uint64_t *size)
{
	char byte;
	int ret;

	call->method = "HEAD";
	call->ranged = false;
	ret = http_call_run(c, call);
	if (!ret && call->resp.content_length >= 0) {
		*size = call->resp.content_length;
		return 0;
	}
	/*
	 * HEAD answered without a length, or refused as a method (405, 501;
	 * or 403 from storage that signed its URL for GET only): ask for one
	 * byte instead. Never after an outage: that would only double it.
	 */
	if (ret && !(call->resp.curl_code == 0 &&
		     (call->resp.status == 403 || call->resp.status == 405 ||
		      call->resp.status == 501)))
		return ret;
	call->method = "GET";
	call->ranged = true;
	call->off = 0;
	call->len = 1;
	call->buf = &byte;
	ret = http_call_run(c, call);
	if (ret)
		return ret;
	if (!call->resp.range_total)
		return -EIO;
	*size = call->resp.range_total;
	return 0;
}

void remote_log_failure(const char *backend, const char *id,
			const char *what, int err,
			const struct http_call *call)
{
	const struct http_response *r = &call->resp;

	log_warn("%s: %s of blob '%s' failed after %u attempt%s: %s (HTTP %ld%s%s)",
		 backend, what, id, call->attempts,
		 call->attempts == 1 ? "" : "s", strerror(-err), r->status,
		 r->error[0] ? ": " : "", r->error);
}

/* Calls live on the stack, in a buffer big enough for every backend's. */
union remote_call_storage {
	struct remote_call rc;
	char bytes[REMOTE_CALL_MAX];
};

static struct remote_call *remote_call_init(union remote_call_storage *st,
					    struct remote_backend *rbe,
					    const char *id,
					    struct remote_blob *rb)
{
	struct remote_call *rc = &st->rc;

	memset(st, 0, sizeof(*st));
	rc->call.prepare = rbe->prepare;
	rc->call.inspect = rbe->inspect;
	rc->rbe = rbe;
	rc->id = id;
	rc->rb = rb;
	return rc;
}

static void remote_call_release(struct remote_call *rc)
{
	if (rc->rbe->release)
		rc->rbe->release(rc);
	http_call_release(&rc->call);
}

int remote_blob_open(struct backend *be, const char *id,
		     struct backend_blob **out)
{
	struct remote_backend *rbe = container_of(be, struct remote_backend, be);
	union remote_call_storage st;
	struct remote_call *rc = remote_call_init(&st, rbe, id, NULL);
	struct remote_blob *rb = NULL;
	uint64_t size;
	int ret;

	ret = remote_blob_size(rbe->client, &rc->call, &size);
	if (ret && ret != -ENOENT)
		remote_log_failure(rbe->name, id, "HEAD", ret, &rc->call);
	if (!ret)
		ret = remote_blob_new(id, &rb);
	if (!ret) {
		rb->blob.size = size;
		if (rbe->opened)
			rbe->opened(rc, rb);
		*out = &rb->blob;
	}
	remote_call_release(rc);
	return ret;
}

/* A ranged GET into @buf, or given to @consume as it arrives. */
static int remote_get(struct backend_blob *blob, uint64_t off, uint64_t len,
		      void *buf, backend_consume_fn consume, void *ctx)
{
	struct remote_blob *rb = container_of(blob, struct remote_blob, blob);
	struct remote_backend *rbe =
		container_of(blob->backend, struct remote_backend, be);
	union remote_call_storage st;
	struct remote_call *rc = remote_call_init(&st, rbe, rb->id, rb);
	int ret;

	rc->call.method = "GET";
	rc->call.ranged = true;
	rc->call.off = off;
	rc->call.len = len;
	rc->call.buf = buf;
	rc->call.consume = consume;
	rc->call.consume_ctx = ctx;
	ret = http_call_run(rbe->client, &rc->call);
	if (ret)
		remote_log_failure(rbe->name, rb->id, "GET", ret, &rc->call);
	remote_call_release(rc);
	return ret;
}

ssize_t remote_blob_read(struct backend_blob *blob, void *buf, size_t len,
			 uint64_t off)
{
	int ret = remote_get(blob, off, len, buf, NULL, NULL);

	return ret ? ret : (ssize_t)len;
}

int remote_blob_stream(struct backend_blob *blob, uint64_t off, uint64_t len,
		       backend_consume_fn consume, void *ctx)
{
	return remote_get(blob, off, len, NULL, consume, ctx);
}

void remote_blob_close(struct backend_blob *blob)
{
	remote_blob_free(container_of(blob, struct remote_blob, blob));
}

int remote_update(struct backend *be, struct json_object *patch)
{
	struct remote_backend *rbe = container_of(be, struct remote_backend, be);
	struct json_object *proxy;

	if (!json_object_object_get_ex(patch, "proxy", &proxy))
		return 0;
	return http_client_set_proxy(rbe->client, remote_string(proxy, "url", NULL));
}
