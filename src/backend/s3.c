// SPDX-License-Identifier: GPL-2.0
/*
 * s3: objects of an S3 bucket, signed with AWS Signature Version 4.
 * Config: endpoint (host[:port]), scheme (https), region (us-east-1),
 * bucket_name, object_prefix, access_key_id, access_key_secret,
 * session_token, path_style (false: <bucket>.<endpoint>); the object key of
 * a blob is object_prefix + blob id. Without keys, requests are anonymous.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/list.h"
#include "remote.h"
#include "sign.h"

struct s3 {
	struct remote_backend rbe;
	char *scheme, *endpoint, *region, *bucket, *prefix;
	char *key_id, *secret, *session_token;
	bool path_style;
};

static int s3_prepare(struct http_call *call);

static int s3_check_config(struct json_object *cfg, const char *where,
			   char *err, size_t errlen)
{
	static const char *const own[] = {
		"endpoint", "scheme", "region", "bucket_name", "object_prefix",
		"access_key_id", "access_key_secret", "session_token",
		"path_style", NULL
	};
	static const char *const required[] = { "endpoint", "bucket_name", NULL };
	int ret;

	ret = remote_check_config(cfg, where, own, required, err, errlen);
	if (ret)
		return ret;
	return remote_check_object_store(cfg, where, err, errlen);
}

static void s3_destroy(struct backend *be)
{
	struct s3 *s3 = container_of(be, struct s3, rbe.be);

	http_client_destroy(s3->rbe.client);
	if (s3->secret)
		explicit_bzero(s3->secret, strlen(s3->secret));
	free(s3->scheme);
	free(s3->endpoint);
	free(s3->region);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->key_id);
	free(s3->secret);
	free(s3->session_token);
	free(s3);
}

static char *dup_opt(struct json_object *cfg, const char *key,
		     const char *def, bool *oom)
{
	const char *v = remote_string(cfg, key, def);
	char *copy;

	if (!v)
		return NULL;
	copy = strdup(v);
	if (!copy)
		*oom = true;
	return copy;
}

static int s3_create(struct json_object *cfg, struct backend **out)
{
	struct s3 *s3 = calloc(1, sizeof(*s3));
	bool oom = false;
	int ret;

	if (!s3)
		return -ENOMEM;
	s3->scheme = dup_opt(cfg, "scheme", "https", &oom);
	s3->endpoint = dup_opt(cfg, "endpoint", NULL, &oom);
	s3->region = dup_opt(cfg, "region", "us-east-1", &oom);
	s3->bucket = dup_opt(cfg, "bucket_name", NULL, &oom);
	s3->prefix = dup_opt(cfg, "object_prefix", "", &oom);
	s3->key_id = dup_opt(cfg, "access_key_id", NULL, &oom);
	s3->secret = dup_opt(cfg, "access_key_secret", NULL, &oom);
	s3->session_token = dup_opt(cfg, "session_token", NULL, &oom);
	s3->path_style = remote_bool(cfg, "path_style", false);
	s3->rbe.name = "s3";
	s3->rbe.prepare = s3_prepare;
	ret = oom ? -ENOMEM
		  : remote_client_create(cfg, &s3->rbe.be, &s3->rbe.client);
	if (ret) {
		s3_destroy(&s3->rbe.be);
		return ret;
	}
	*out = &s3->rbe.be;
	return 0;
}

static int s3_prepare(struct http_call *call)
{
	struct remote_call *rc = container_of(call, struct remote_call, call);
	struct s3 *s3 = container_of(rc->rbe, struct s3, rbe);
	char host[512], key[1024], path[3200], auth[1024], date[17];
	char range[64];
	struct sign_header h[2];
	struct sigv4_request req;
	size_t nh = 0;
	int ret;

	if (s3->path_style)
		snprintf(host, sizeof(host), "%s", s3->endpoint);
	else
		snprintf(host, sizeof(host), "%s.%s", s3->bucket, s3->endpoint);
	snprintf(key, sizeof(key), "%s%s", s3->prefix, rc->id);
	if (s3->path_style) {
		char k[3072];

		if (sign_uri_encode(key, 1, k, sizeof(k)))
			return -E2BIG;
		snprintf(path, sizeof(path), "/%s/%s", s3->bucket, k);
	} else {
		path[0] = '/';
		if (sign_uri_encode(key, 1, path + 1, sizeof(path) - 1))
			return -E2BIG;
	}
	ret = http_call_set_url(call, "%s://%s%s", s3->scheme, host, path);
	if (ret || !s3->key_id)
		return ret;

	sigv4_amz_date(time(NULL), date);
	h[nh].name = "x-amz-content-sha256";
	h[nh++].value = SIGN_EMPTY_SHA256;
	if (call->ranged && !strcmp(call->method, "GET")) {
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
			 (unsigned long long)call->off,
			 (unsigned long long)(call->off + call->len - 1));
		h[nh].name = "range";
		h[nh++].value = range;
	}
	req = (struct sigv4_request){
		.method = call->method, .host = host, .path = path,
		.headers = h, .nr_headers = nh,
		.payload_hash = SIGN_EMPTY_SHA256, .region = s3->region,
		.service = "s3", .amz_date = date,
		.access_key_id = s3->key_id,
		.secret_access_key = s3->secret,
		.session_token = s3->session_token,
	};
	ret = sigv4_authorization(&req, auth, sizeof(auth));
	if (!ret)
		ret = http_call_add_header(call, "Authorization: %s", auth);
	if (!ret)
		ret = http_call_add_header(call, "x-amz-date: %s", date);
	if (!ret)
		ret = http_call_add_header(call, "x-amz-content-sha256: %s",
					   SIGN_EMPTY_SHA256);
	if (!ret && s3->session_token)
		ret = http_call_add_header(call, "x-amz-security-token: %s",
					   s3->session_token);
	explicit_bzero(auth, sizeof(auth));
	return ret;
}

const struct backend_ops s3_backend_ops = {
	.type = "s3",
	.check_config = s3_check_config,
	.create = s3_create,
	.destroy = s3_destroy,
	.blob_open = remote_blob_open,
	.blob_read = remote_blob_read,
	.blob_stream = remote_blob_stream,
	.blob_close = remote_blob_close,
	.update = remote_update,
};
