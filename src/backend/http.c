// SPDX-License-Identifier: GPL-2.0
/*
 * http: blobs under a plain URL prefix (an nginx, a CDN, any static server).
 * Config: {"url": "https://host/prefix/", <common HTTP options>}; the blob
 * URL is the prefix, a '/', and the blob id.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "remote.h"

struct http_backend {
	struct backend be;
	struct http_client *client;
	char *prefix;		/* without a trailing '/' */
};

struct http_backend_call {
	struct http_call call;
	struct http_backend *hb;
	const char *id;
};

static int http_check_config(struct json_object *cfg, const char *where,
			     char *err, size_t errlen)
{
	static const char *const own[] = { "url", NULL };
	const char *url;
	int ret;

	ret = remote_check_config(cfg, where, own, own, err, errlen);
	if (ret)
		return ret;
	url = remote_string(cfg, "url", "");
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		snprintf(err, errlen, "%s.url: '%s' must start with http:// or https://",
			 where, url);
		return -EINVAL;
	}
	return 0;
}

static int http_create(struct json_object *cfg, struct backend **out)
{
	struct http_backend *hb = calloc(1, sizeof(*hb));
	size_t len;
	int ret;

	if (!hb)
		return -ENOMEM;
	hb->prefix = strdup(remote_string(cfg, "url", ""));
	if (!hb->prefix) {
		free(hb);
		return -ENOMEM;
	}
	len = strlen(hb->prefix);
	while (len && hb->prefix[len - 1] == '/')
		hb->prefix[--len] = '\0';
	ret = remote_client_create(cfg, &hb->be, &hb->client);
	if (ret) {
		free(hb->prefix);
		free(hb);
		return ret;
	}
	*out = &hb->be;
	return 0;
}

static void http_destroy(struct backend *be)
{
	struct http_backend *hb = container_of(be, struct http_backend, be);

	http_client_destroy(hb->client);
	free(hb->prefix);
	free(hb);
}

static int http_prepare(struct http_call *call)
{
	struct http_backend_call *hc =
		container_of(call, struct http_backend_call, call);

	return http_call_set_url(call, "%s/%s", hc->hb->prefix, hc->id);
}

static int http_blob_open(struct backend *be, const char *id,
			  struct backend_blob **out)
{
	struct http_backend *hb = container_of(be, struct http_backend, be);
	struct http_backend_call hc = {
		.call.prepare = http_prepare, .hb = hb, .id = id,
	};
	struct remote_blob *rb;
	uint64_t size;
	int ret;

	ret = remote_blob_size(hb->client, &hc.call, &size);
	if (ret && ret != -ENOENT)
		remote_log_failure("http", id, "HEAD", ret, &hc.call);
	http_call_release(&hc.call);
	if (ret)
		return ret;
	ret = remote_blob_new(id, &rb);
	if (ret)
		return ret;
	rb->blob.size = size;
	*out = &rb->blob;
	return 0;
}

static ssize_t http_blob_read(struct backend_blob *blob, void *buf,
			      size_t len, uint64_t off)
{
	struct remote_blob *rb = container_of(blob, struct remote_blob, blob);
	struct http_backend *hb =
		container_of(blob->backend, struct http_backend, be);
	struct http_backend_call hc = {
		.call = { .method = "GET", .ranged = true, .off = off,
			  .len = len, .buf = buf, .prepare = http_prepare },
		.hb = hb, .id = rb->id,
	};
	int ret;

	ret = http_call_run(hb->client, &hc.call);
	if (ret)
		remote_log_failure("http", rb->id, "GET", ret, &hc.call);
	http_call_release(&hc.call);
	return ret ? ret : (ssize_t)len;
}

static void http_blob_close(struct backend_blob *blob)
{
	remote_blob_free(container_of(blob, struct remote_blob, blob));
}

const struct backend_ops http_backend_ops = {
	.type = "http",
	.check_config = http_check_config,
	.create = http_create,
	.destroy = http_destroy,
	.blob_open = http_blob_open,
	.blob_read = http_blob_read,
	.blob_close = http_blob_close,
};
