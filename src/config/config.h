/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Daemon and blob configuration: a nydus ConfigV2-style JSON document.
 *
 *   {"version": 2, "id": "...",
 *    "backend": {"type": "localfs", "localfs": {"dir": "..."}},
 *    "cache": {"type": "fscache", "fscache": {"work_dir": "..."},
 *              "prefetch": {"enable": false, ...}}}
 *
 * The backend's own object is validated by that backend (backend.h) and kept
 * as JSON, so that adding a backend never touches this file.
 */
#ifndef FSCACHED_CONFIG_H
#define FSCACHED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define CONFIG_ERR_MAX	512

struct prefetch_config {
	bool enable;
	bool prefetch_all;
	uint32_t threads;
	uint64_t batch_size;
	uint64_t bandwidth_limit;
};

struct fscached_config {
	char *id;
	char *backend_type;
	struct json_object *backend;	/* backend.<type>, owned */
	char *cache_type;		/* "fscache" or "dummy" */
	char *work_dir;			/* cache.fscache.work_dir, may be NULL */
	/*
	 * cache.validate: a blob named by its sha256 is fetched whole and
	 * checked before any byte of it is served (cache/verify.h).
	 */
	bool validate;
	struct prefetch_config prefetch;
};

int config_parse_file(const char *path, struct fscached_config **out,
		      char *err, size_t errlen);
int config_parse_string(const char *text, struct fscached_config **out,
			char *err, size_t errlen);
int config_from_json(struct json_object *root, struct fscached_config **out,
		     char *err, size_t errlen);
int config_new_localfs(const char *id, const char *dir, const char *cache_type,
		       struct fscached_config **out, char *err, size_t errlen);
/* The ConfigV2 document config_from_json() reads back as @cfg. */
struct json_object *config_to_json(const struct fscached_config *cfg);
struct fscached_config *config_dup(const struct fscached_config *cfg);
void config_free(struct fscached_config *cfg);

/*
 * What PUT /api/v1/config changes at run time; NULL leaves it, "" clears it.
 */
struct config_update {
	const char *registry_auth;	/* registry "auth": base64 user:pass */
	const char *proxy_url;		/* remote backends' "proxy": {"url"} */
};

/*
 * Apply @u to @cfg when its id is @id (NULL: any id) and its backend takes
 * any of it. Returns what was merged into cfg->backend, keys of the
 * backend's configuration object, for a running backend to take too (the
 * caller puts it), or NULL when @cfg took nothing.
 */
struct json_object *config_apply_update(struct fscached_config *cfg,
					const char *id,
					const struct config_update *u);
/*
 * A copy of @base whose backend is the local file @path (localfs
 * "blob_file"), with the id "bootstrap:<path>": how a bound bootstrap is
 * served from its metadata_path.
 */
struct fscached_config *config_new_blob_file(const struct fscached_config *base,
					     const char *path);

/*
 * Two configurations share one cache manager when their id, backend type,
 * cache type and prefetch settings are equal (nydus's BlobFactory key).
 */
bool config_same_manager(const struct fscached_config *a,
			 const struct fscached_config *b);

#endif
