// SPDX-License-Identifier: GPL-2.0
/*
 * oss: objects of an Aliyun OSS bucket, signed with OSS V1 (HMAC-SHA1).
 * Config: endpoint (host[:port]), scheme (https), bucket_name,
 * object_prefix, access_key_id, access_key_secret; requests go to
 * <bucket>.<endpoint>, the object key of a blob is object_prefix + blob id.
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

struct oss {
	struct remote_backend rbe;
	char *scheme, *endpoint, *bucket, *prefix, *key_id, *secret;
};

static int oss_prepare(struct http_call *call);

static int oss_check_config(struct json_object *cfg, const char *where,
			    char *err, size_t errlen)
{
	static const char *const own[] = {
		"endpoint", "scheme", "bucket_name", "object_prefix",
		"access_key_id", "access_key_secret", NULL
	};
	static const char *const required[] = { "endpoint", "bucket_name", NULL };
	int ret;

	ret = remote_check_config(cfg, where, own, required, err, errlen);
	if (ret)
		return ret;
	return remote_check_object_store(cfg, where, err, errlen);
}

static void oss_destroy(struct backend *be)
{
	struct oss *oss = container_of(be, struct oss, rbe.be);

	http_client_destroy(oss->rbe.client);
	if (oss->secret)
		explicit_bzero(oss->secret, strlen(oss->secret));
	free(oss->scheme);
	free(oss->endpoint);
	free(oss->bucket);
	free(oss->prefix);
	free(oss->key_id);
	free(oss->secret);
	free(oss);
}

static int oss_create(struct json_object *cfg, struct backend **out)
{
	struct oss *oss = calloc(1, sizeof(*oss));
	const char *kid = remote_string(cfg, "access_key_id", NULL);
	const char *sec = remote_string(cfg, "access_key_secret", NULL);
	int ret = -ENOMEM;

	if (!oss)
		return -ENOMEM;
	oss->scheme = strdup(remote_string(cfg, "scheme", "https"));
	oss->endpoint = strdup(remote_string(cfg, "endpoint", ""));
	oss->bucket = strdup(remote_string(cfg, "bucket_name", ""));
	oss->prefix = strdup(remote_string(cfg, "object_prefix", ""));
	oss->key_id = kid ? strdup(kid) : NULL;
	oss->secret = sec ? strdup(sec) : NULL;
	oss->rbe.name = "oss";
	oss->rbe.prepare = oss_prepare;
	if (oss->scheme && oss->endpoint && oss->bucket && oss->prefix &&
	    (!kid || oss->key_id) && (!sec || oss->secret))
		ret = remote_client_create(cfg, &oss->rbe.be, &oss->rbe.client);
	if (ret) {
		oss_destroy(&oss->rbe.be);
		return ret;
	}
	*out = &oss->rbe.be;
	return 0;
}

static int oss_prepare(struct http_call *call)
{
	struct remote_call *rc = container_of(call, struct remote_call, call);
	struct oss *oss = container_of(rc->rbe, struct oss, rbe);
	char key[1024], path[3200], resource[3400], date[30], sig[64];
	struct oss_request req;
	int ret;

	snprintf(key, sizeof(key), "%s%s", oss->prefix, rc->id);
	path[0] = '/';
	if (sign_uri_encode(key, 1, path + 1, sizeof(path) - 1))
		return -E2BIG;
	ret = http_call_set_url(call, "%s://%s.%s%s", oss->scheme, oss->bucket,
				oss->endpoint, path);
	if (ret || !oss->key_id)
		return ret;
	sign_http_date(time(NULL), date);
	snprintf(resource, sizeof(resource), "/%s/%s", oss->bucket, key);
	req = (struct oss_request){
		.verb = call->method, .content_md5 = "", .content_type = "",
		.date = date, .resource = resource,
	};
	ret = oss_signature(&req, oss->secret, sig, sizeof(sig));
	if (!ret)
		ret = http_call_add_header(call, "Date: %s", date);
	if (!ret)
		ret = http_call_add_header(call, "Authorization: OSS %s:%s",
					   oss->key_id, sig);
	return ret;
}

const struct backend_ops oss_backend_ops = {
	.type = "oss",
	.check_config = oss_check_config,
	.create = oss_create,
	.destroy = oss_destroy,
	.blob_open = remote_blob_open,
	.blob_read = remote_blob_read,
	.blob_stream = remote_blob_stream,
	.blob_close = remote_blob_close,
	.update = remote_update,
};
