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

#include "lib/list.h"
#include "remote.h"

struct http_backend {
	struct remote_backend rbe;
	char *prefix;		/* without a trailing '/' */
};

static int http_prepare(struct http_call *call);

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
	hb->rbe.name = "http";
	hb->rbe.prepare = http_prepare;
	ret = remote_client_create(cfg, &hb->rbe.be, &hb->rbe.client);
	if (ret) {
		free(hb->prefix);
		free(hb);
		return ret;
	}
	*out = &hb->rbe.be;
	return 0;
}

static void http_destroy(struct backend *be)
{
	struct http_backend *hb = container_of(be, struct http_backend, rbe.be);

	http_client_destroy(hb->rbe.client);
	free(hb->prefix);
	free(hb);
}

static int http_prepare(struct http_call *call)
{
	struct remote_call *rc = container_of(call, struct remote_call, call);
	struct http_backend *hb =
		container_of(rc->rbe, struct http_backend, rbe);

	return http_call_set_url(call, "%s/%s", hb->prefix, rc->id);
}

const struct backend_ops http_backend_ops = {
	.type = "http",
	.check_config = http_check_config,
	.create = http_create,
	.destroy = http_destroy,
	.blob_open = remote_blob_open,
	.blob_read = remote_blob_read,
	.blob_stream = remote_blob_stream,
	.blob_close = remote_blob_close,
	.update = remote_update,
};
