// SPDX-License-Identifier: GPL-2.0
/*
 * PUT/DELETE/GET /api/v2/blobs: binding images, in both forms the
 * snapshotter sends (nydusd's "config" and "config_v2").
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "blobs.h"
#include "image/bindings.h"
#include "lib/blob_id.h"
#include "lib/json_get.h"
#include "config/config.h"
#include "lib/log.h"
#include "server.h"

/* What a bootstrap's superblock and device table need, at most. */

static bool only_fields(struct json_object *o, const char *const *known,
			const char **bad)
{
	const char *const *k;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			*bad = key;
			return false;
		}
	}
	return true;
}

/* nydusd's "config" (an object, or a string of one) as a ConfigV2 object. */
static struct json_object *v1_to_v2(struct json_object *v1, const char *fsid,
				    struct api_response *resp)
{
	static const char *const known[] = {
		"id", "backend_type", "backend_config", "cache_type",
		"cache_config", "prefetch_config", "metadata_path", NULL
	};
	struct json_object *v2, *backend, *cache, *fscache, *v;
	const char *type, *bad;

	if (!only_fields(v1, known, &bad)) {
		api_error(resp, 400, "InvalidRequest", "config.%s: unknown field", bad);
		return NULL;
	}
	type = json_get_string(v1, "backend_type");
	if (!type) {
		api_error(resp, 400, "InvalidRequest", "config.backend_type: a string is needed");
		return NULL;
	}
	v2 = json_object_new_object();
	json_object_object_add(v2, "version", json_object_new_int(2));
	json_object_object_add(v2, "id", json_object_new_string(
		json_get_string(v1, "id") ? json_get_string(v1, "id") : fsid));
	backend = json_object_new_object();
	json_object_object_add(backend, "type", json_object_new_string(type));
	if (json_object_object_get_ex(v1, "backend_config", &v))
		json_object_object_add(backend, type, json_object_get(v));
	json_object_object_add(v2, "backend", backend);
	cache = json_object_new_object();
	json_object_object_add(cache, "type", json_object_new_string(
		json_get_string(v1, "cache_type") ? json_get_string(v1, "cache_type")
					     : "fscache"));
	if (json_object_object_get_ex(v1, "cache_config", &v)) {
		fscache = json_object_new_object();
		if (json_get_string(v, "work_dir"))
			json_object_object_add(fscache, "work_dir",
				json_object_new_string(json_get_string(v, "work_dir")));
		json_object_object_add(cache, "fscache", fscache);
	}
	if (json_object_object_get_ex(v1, "prefetch_config", &v))
		json_object_object_add(cache, "prefetch", json_object_get(v));
	json_object_object_add(v2, "cache", cache);
	return v2;
}

/* The configuration object of a PUT /api/v2/blobs body, ConfigV2 shaped. */
static struct json_object *body_config(struct json_object *body,
				       const char *fsid,
				       struct api_response *resp)
{
	struct json_object *v, *parsed = NULL, *v2;

	if (json_object_object_get_ex(body, "config_v2", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			api_error(resp, 400, "InvalidRequest", "config_v2: an object is needed");
			return NULL;
		}
		return json_object_get(v);
	}
	if (!json_object_object_get_ex(body, "config", &v)) {
		api_error(resp, 400, "InvalidRequest", "config or config_v2 is needed");
		return NULL;
	}
	if (json_object_is_type(v, json_type_string)) {
		parsed = json_tokener_parse(json_object_get_string(v));
		v = parsed;
	}
	if (!v || !json_object_is_type(v, json_type_object)) {
		json_object_put(parsed);
		api_error(resp, 400, "InvalidRequest",
			  "config: a JSON object (or a string of one) is needed");
		return NULL;
	}
	v2 = v1_to_v2(v, fsid, resp);
	json_object_put(parsed);
	return v2;
}

void api_put_blobs(void *ctx, const struct api_request *req,
		      struct api_response *resp)
{
	static const char *const known[] = {
		"type", "id", "domain_id", "config", "config_v2",
		"metadata_path", NULL
	};
	struct bootstrap_info bi = { 0 };
	const struct api_daemon *d = ctx;
	unsigned int nr_blobs;
	bool rafs;
	struct json_object *body, *cfgobj = NULL, *v;
	struct fscached_config *cfg = NULL;
	const char *type, *fsid, *domain, *meta, *bad;
	char err[CONFIG_ERR_MAX];
	int ret;

	body = api_body_object(req, resp);
	if (!body)
		return;
	if (!only_fields(body, known, &bad)) {
		api_error(resp, 400, "InvalidRequest", "%s: unknown field", bad);
		goto out;
	}
	type = json_get_string(body, "type");
	fsid = json_get_string(body, "id");
	domain = json_get_string(body, "domain_id");
	if (!type || strcmp(type, "bootstrap")) {
		api_error(resp, 400, "InvalidRequest",
			  "type: only \"bootstrap\" is supported");
		goto out;
	}
	if (!fsid || !blob_id_valid(fsid, strlen(fsid)) ||
	    (domain && !blob_id_valid(domain, strlen(domain)))) {
		api_error(resp, 400, "InvalidRequest",
			  "id and domain_id must be safe names (no '/', no leading '.')");
		goto out;
	}
	if (!domain || !*domain)
		domain = fsid;
	cfgobj = body_config(body, fsid, resp);
	if (!cfgobj)
		goto out;
	meta = json_get_string(body, "metadata_path");
	if (!meta && json_object_object_get_ex(body, "config", &v) &&
	    json_object_is_type(v, json_type_object))
		meta = json_get_string(v, "metadata_path");
	ret = config_from_json(cfgobj, &cfg, err, sizeof(err));
	if (ret) {
		api_error(resp, 400, "InvalidRequest", "%s",
			  ret == -EINVAL ? err : strerror(-ret));
		goto out;
	}
	if (strcmp(cfg->cache_type, "fscache")) {
		api_error(resp, 400, "InvalidRequest",
			  "cache type '%s' cannot serve /dev/cachefiles; use \"fscache\"",
			  cfg->cache_type);
		goto out;
	}
	if (meta) {
		char berr[512] = "";

		ret = bootstrap_read(meta, cfg->validate, &bi, berr, sizeof(berr));
		if (ret) {
			api_error(resp, 400, "InvalidRequest", "metadata_path %s: %s",
				  meta, berr);
			log_warn("refusing to bind image %s: metadata_path %s: %s",
				 fsid, meta, berr);
			goto out;
		}
	}
	nr_blobs = bi.nr_blobs;
	rafs = bi.rafs != NULL;
	ret = bindings_add_image(d->bindings, domain, fsid, meta, cfg, &bi);
	cfg = NULL;
	if (ret == -EEXIST)
		api_error(resp, 409, "AlreadyExists",
			  "%s is bound in domain %s already", fsid, domain);
	else if (ret == -EXDEV)
		api_error(resp, 409, "Conflict",
			  "%s names a data blob that another image of domain %s lays out otherwise",
			  fsid, domain);
	else if (ret)
		api_error(resp, 500, "InternalError", "%s", strerror(-ret));
	else
		resp->status = 204;
	if (resp->status == 204)
		log_info("bound image %s in domain %s (%u data blobs%s)", fsid,
			 domain, nr_blobs, rafs ? ", RAFS v6" : "");
out:
	bootstrap_info_free(&bi);
	config_free(cfg);
	json_object_put(cfgobj);
	json_object_put(body);
}

/* DELETE ?blob_id= alone: the snapshotter's last step after umount. */
static void cull_blob(const struct api_daemon *d, const char *blob_id,
		      struct api_response *resp)
{
	char why[256] = "";
	int ret;

	if (!d->cull) {
		api_error(resp, 501, "NotImplemented",
			  "this daemon cannot cull cache files");
		return;
	}
	ret = d->cull(d->ctx, blob_id, why, sizeof(why));
	if (ret >= 0) {
		resp->status = 204;
		return;
	}
	if (ret == -ENOENT) {
		/*
		 * Nothing to cull is not an error: the snapshotter asks for
		 * every layer, fetched or not.
		 */
		log_debug("cull %s: no cache file", blob_id);
		resp->status = 204;
	} else if (ret == -EBUSY)
		api_error(resp, 409, "InUse",
			  "blob %s is still in use (unmount it first); its unused cache files were culled",
			  blob_id);
	else
		api_error(resp, 500, "InternalError", "cannot cull blob %s: %s",
			  blob_id, *why ? why : strerror(-ret));
}

void api_delete_blobs(void *ctx, const struct api_request *req,
		      struct api_response *resp)
{
	const struct api_daemon *d = ctx;
	const char *domain = api_query(req, "domain_id");
	const char *fsid = api_query(req, "blob_id");
	bool has_domain = domain && *domain, has_fsid = fsid && *fsid;
	int n;

	if (!has_domain && !has_fsid) {
		api_error(resp, 400, "InvalidRequest",
			  "blob_id or domain_id is needed");
		return;
	}
	if ((has_fsid && !blob_id_valid(fsid, strlen(fsid))) ||
	    (has_domain && !blob_id_valid(domain, strlen(domain)))) {
		api_error(resp, 400, "InvalidRequest",
			  "blob_id and domain_id must be safe names (no '/', no leading '.')");
		return;
	}
	if (!has_domain) {
		cull_blob(d, fsid, resp);
		return;
	}
	/* domain_id alone: every image of the domain, as the snapshotter asks. */
	if (!has_fsid) {
		n = bindings_remove_domain(d->bindings, domain);
		if (n < 0) {
			api_error(resp, 404, "NotFound",
				  "no image is bound in domain %s", domain);
			return;
		}
		log_info("unbound %d image%s of domain %s", n, n == 1 ? "" : "s",
			 domain);
		resp->status = 204;
		return;
	}
	if (bindings_remove(d->bindings, domain, fsid)) {
		api_error(resp, 404, "NotFound", "%s is not bound in domain %s",
			  fsid, domain);
		return;
	}
	log_info("unbound image %s in domain %s", fsid, domain);
	resp->status = 204;
}

void api_get_blobs(void *ctx, const struct api_request *req,
		      struct api_response *resp)
{
	const struct api_daemon *d = ctx;

	(void)req;
	resp->json = bindings_json(d->bindings);
}
