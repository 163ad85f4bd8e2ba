// SPDX-License-Identifier: GPL-2.0
/*
 * Configurations going out and changing: the ConfigV2 document of a parsed
 * configuration (for the state file) and run-time updates from the API.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct json_object *config_to_json(const struct fscached_config *cfg)
{
	struct json_object *root, *backend, *sub = NULL, *cache, *pf, *fscache;

	root = json_object_new_object();
	backend = json_object_new_object();
	cache = json_object_new_object();
	pf = json_object_new_object();
	if (!root || !backend || !cache || !pf ||
	    json_object_deep_copy(cfg->backend, &sub, NULL))
		goto err;
	json_object_object_add(backend, "type",
			       json_object_new_string(cfg->backend_type));
	json_object_object_add(backend, cfg->backend_type, sub);
	json_object_object_add(cache, "type",
			       json_object_new_string(cfg->cache_type));
	json_object_object_add(cache, "validate",
			       json_object_new_boolean(cfg->validate));
	if (cfg->work_dir) {
		fscache = json_object_new_object();
		json_object_object_add(fscache, "work_dir",
				       json_object_new_string(cfg->work_dir));
		json_object_object_add(cache, "fscache", fscache);
	}
	json_object_object_add(pf, "enable",
			       json_object_new_boolean(cfg->prefetch.enable));
	json_object_object_add(pf, "prefetch_all",
			       json_object_new_boolean(cfg->prefetch.prefetch_all));
	json_object_object_add(pf, "threads",
			       json_object_new_uint64(cfg->prefetch.threads));
	json_object_object_add(pf, "batch_size",
			       json_object_new_uint64(cfg->prefetch.batch_size));
	json_object_object_add(pf, "bandwidth_limit",
			       json_object_new_uint64(cfg->prefetch.bandwidth_limit));
	json_object_object_add(cache, "prefetch", pf);
	json_object_object_add(root, "version", json_object_new_int(2));
	json_object_object_add(root, "id", json_object_new_string(cfg->id));
	json_object_object_add(root, "backend", backend);
	json_object_object_add(root, "cache", cache);
	return root;
err:
	json_object_put(sub);
	json_object_put(pf);
	json_object_put(cache);
	json_object_put(backend);
	json_object_put(root);
	return NULL;
}

/* The part of @u that a backend of @backend_type takes, or NULL. */
static struct json_object *update_patch(const char *backend_type,
					const struct config_update *u)
{
	struct json_object *patch = json_object_new_object(), *proxy;
	bool remote = strcmp(backend_type, "localfs");

	if (u->registry_auth && !strcmp(backend_type, "registry"))
		json_object_object_add(patch, "auth",
				       json_object_new_string(u->registry_auth));
	if (u->proxy_url && remote) {
		proxy = json_object_new_object();
		json_object_object_add(proxy, "url",
				       json_object_new_string(u->proxy_url));
		json_object_object_add(patch, "proxy", proxy);
	}
	if (!json_object_object_length(patch)) {
		json_object_put(patch);
		return NULL;
	}
	return patch;
}

/* Objects merge key by key; anything else replaces; "" removes. */
static int merge_json(struct json_object *dst, struct json_object *src)
{
	struct json_object *old, *copy = NULL;

	json_object_object_foreach(src, key, val) {
		if (json_object_is_type(val, json_type_object) &&
		    json_object_object_get_ex(dst, key, &old) &&
		    json_object_is_type(old, json_type_object)) {
			if (merge_json(old, val))
				return -ENOMEM;
			continue;
		}
		if (json_object_is_type(val, json_type_string) &&
		    !json_object_get_string_len(val)) {
			json_object_object_del(dst, key);
			continue;
		}
		if (json_object_deep_copy(val, &copy, NULL))
			return -ENOMEM;
		json_object_object_add(dst, key, copy);
		copy = NULL;
	}
	return 0;
}

struct json_object *config_apply_update(struct fscached_config *cfg,
					const char *id,
					const struct config_update *u)
{
	struct json_object *patch;

	if (id && strcmp(cfg->id, id))
		return NULL;
	patch = update_patch(cfg->backend_type, u);
	if (patch && merge_json(cfg->backend, patch)) {
		json_object_put(patch);
		return NULL;
	}
	return patch;
}

struct fscached_config *config_new_blob_file(const struct fscached_config *base,
					     const char *path)
{
	struct fscached_config *cfg = config_dup(base);
	struct json_object *backend = json_object_new_object();

	if (!cfg || !backend)
		goto err;
	json_object_object_add(backend, "blob_file",
			       json_object_new_string(path));
	free(cfg->backend_type);
	cfg->backend_type = strdup("localfs");
	json_object_put(cfg->backend);
	cfg->backend = backend;
	/*
	 * Managers are shared by id and backend type: a file of its own
	 * needs an id of its own, or the image's data blobs (localfs too,
	 * same id) or another image's bootstrap would be read from it.
	 */
	free(cfg->id);
	cfg->id = NULL;
	if (asprintf(&cfg->id, "bootstrap:%s", path) < 0)
		cfg->id = NULL;
	if (!cfg->backend_type || !cfg->id) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
err:
	json_object_put(backend);
	config_free(cfg);
	return NULL;
}
