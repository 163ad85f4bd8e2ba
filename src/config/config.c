// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "lib/compiler.h"
#include "config.h"
#include "lib/errmsg.h"

/* A configuration file larger than this is a mistake, not a configuration. */
#define CONFIG_FILE_MAX	(1 << 20)

static const char *json_type_word(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

/* Reject fields nobody knows, so that a typo is an error and not a default. */
static int check_fields(struct json_object *obj, const char *where,
			const char *const *known, char *err, size_t errlen)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *k;

		(void)val;
		for (k = known; *k; k++)
			if (!strcmp(key, *k))
				break;
		if (!*k)
			return err_einval(err, errlen,
					    "%s%s%s: unknown field", where,
					    *where ? "." : "", key);
	}
	return 0;
}

static int get_string(struct json_object *obj, const char *where,
		      const char *key, bool required, const char **out,
		      char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (required)
			return err_einval(err, errlen, "%s%s%s: missing",
					    where, *where ? "." : "", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return err_einval(err, errlen,
				    "%s%s%s: must be a string, not %s", where,
				    *where ? "." : "", key, json_type_word(v));
	*out = json_object_get_string(v);
	return 0;
}

static int get_u64(struct json_object *obj, const char *where, const char *key,
		   uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return err_einval(err, errlen,
				    "%s.%s: must be an integer, not %s", where,
				    key, json_type_word(v));
	errno = 0;
	n = json_object_get_int64(v);
	if (n < 0 || errno || (uint64_t)n > max)
		return err_einval(err, errlen,
				    "%s.%s: %s is out of range (0..%llu)",
				    where, key, json_object_get_string(v),
				    (unsigned long long)max);
	*out = n;
	return 0;
}

static int get_bool(struct json_object *obj, const char *where,
		    const char *key, bool *out, char *err, size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return err_einval(err, errlen,
				    "%s.%s: must be true or false, not %s",
				    where, key, json_type_word(v));
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_object(struct json_object *obj, const char *where,
		      const char *key, struct json_object **out, char *err,
		      size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return err_einval(err, errlen,
				    "%s%s%s: must be an object, not %s", where,
				    *where ? "." : "", key, json_type_word(v));
	*out = v;
	return 0;
}

static int parse_prefetch(struct json_object *obj, struct prefetch_config *pf,
			  char *err, size_t errlen)
{
	static const char *const known[] = {
		"enable", "threads", "threads_count", "batch_size",
		"merging_size", "bandwidth_limit", "bandwidth_rate",
		"prefetch_all", NULL
	};
	uint64_t threads = pf->threads;
	int ret;

	ret = check_fields(obj, "cache.prefetch", known, err, errlen);
	if (!ret)
		ret = get_bool(obj, "cache.prefetch", "enable", &pf->enable,
			       err, errlen);
	if (!ret)
		ret = get_bool(obj, "cache.prefetch", "prefetch_all",
			       &pf->prefetch_all, err, errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "threads", 1024, &threads,
			      err, errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "threads_count", 1024,
			      &threads, err, errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "batch_size", 1ULL << 30,
			      &pf->batch_size, err, errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "merging_size", 1ULL << 30,
			      &pf->batch_size, err, errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "bandwidth_limit",
			      UINT64_MAX >> 1, &pf->bandwidth_limit, err,
			      errlen);
	if (!ret)
		ret = get_u64(obj, "cache.prefetch", "bandwidth_rate",
			      UINT64_MAX >> 1, &pf->bandwidth_limit, err,
			      errlen);
	pf->threads = threads;
	return ret;
}

static int parse_cache(struct json_object *obj, struct fscached_config *cfg,
		       char *err, size_t errlen)
{
	static const char *const known[] = {
		"type", "compressed", "validate", "prefetch", "fscache",
		"filecache", NULL
	};
	struct json_object *fscache, *prefetch;
	const char *type, *work_dir;
	int ret;

	ret = check_fields(obj, "cache", known, err, errlen);
	if (ret)
		return ret;
	ret = get_string(obj, "cache", "type", false, &type, err, errlen);
	if (ret)
		return ret;
	if (!type || !*type)
		type = "fscache";
	if (strcmp(type, "fscache") && strcmp(type, "dummy"))
		return err_einval(err, errlen,
				    "cache.type: '%s' is not supported (use \"fscache\" or \"dummy\")",
				    type);
	cfg->cache_type = strdup(type);
	if (!cfg->cache_type)
		return -ENOMEM;
	ret = get_bool(obj, "cache", "validate", &cfg->validate, err, errlen);
	if (ret)
		return ret;
	if (cfg->validate && !strcmp(type, "dummy"))
		return err_einval(err, errlen,
				    "cache.validate: the dummy cache keeps no copy of a blob to check; use \"fscache\" or turn validate off");

	ret = get_object(obj, "cache", "fscache", &fscache, err, errlen);
	if (!ret && fscache) {
		static const char *const fknown[] = { "work_dir", NULL };

		ret = check_fields(fscache, "cache.fscache", fknown, err,
				   errlen);
		if (!ret)
			ret = get_string(fscache, "cache.fscache", "work_dir",
					 false, &work_dir, err, errlen);
		if (!ret && work_dir) {
			if (work_dir[0] != '/')
				return err_einval(err, errlen,
						    "cache.fscache.work_dir: '%s' must be an absolute path",
						    work_dir);
			cfg->work_dir = strdup(work_dir);
			if (!cfg->work_dir)
				return -ENOMEM;
		}
	}
	if (!ret)
		ret = get_object(obj, "cache", "prefetch", &prefetch, err,
				 errlen);
	if (!ret && prefetch)
		ret = parse_prefetch(prefetch, &cfg->prefetch, err, errlen);
	return ret;
}

static int parse_backend(struct json_object *obj, struct fscached_config *cfg,
			 char *err, size_t errlen)
{
	char where[64];
	struct json_object *sub;
	const char *type;
	int ret;

	ret = get_string(obj, "backend", "type", true, &type, err, errlen);
	if (ret)
		return ret;
	if (!backend_type_known(type))
		return err_einval(err, errlen,
				    "backend.type: '%s' is not a known backend (known: %s)",
				    type, backend_type_list());
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (strcmp(key, "type") && strcmp(key, type))
			return err_einval(err, errlen,
					    "backend.%s: unknown field (backend.type is '%s')",
					    key, type);
	}
	snprintf(where, sizeof(where), "backend.%s", type);
	ret = get_object(obj, "backend", type, &sub, err, errlen);
	if (ret)
		return ret;
	if (!sub)
		return err_einval(err, errlen, "%s: missing", where);
	ret = backend_check_config(type, sub, where, err, errlen);
	if (ret)
		return ret;
	cfg->backend_type = strdup(type);
	cfg->backend = json_object_get(sub);
	return cfg->backend_type ? 0 : -ENOMEM;
}

int config_from_json(struct json_object *root, struct fscached_config **out,
		     char *err, size_t errlen)
{
	/* Sections of nydus's ConfigV2 that an fscache daemon has no use for. */
	static const char *const known[] = {
		"version", "id", "backend", "cache", "rafs", "overlay",
		"internal", "metadata_path", NULL
	};
	struct fscached_config *cfg;
	struct json_object *v, *backend, *cache;
	const char *id;
	int ret;

	*out = NULL;
	if (!json_object_is_type(root, json_type_object))
		return err_einval(err, errlen,
				    "the configuration must be a JSON object, not %s",
				    json_type_word(root));
	ret = check_fields(root, "", known, err, errlen);
	if (ret)
		return ret;
	if (json_object_object_get_ex(root, "version", &v) &&
	    (!json_object_is_type(v, json_type_int) ||
	     json_object_get_int64(v) != 2))
		return err_einval(err, errlen,
				    "version: %s is not supported (only version 2)",
				    json_object_get_string(v));

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	ret = get_string(root, "", "id", false, &id, err, errlen);
	if (ret)
		goto err_free;
	cfg->id = strdup(id ? id : "");
	if (!cfg->id) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = get_object(root, "", "backend", &backend, err, errlen);
	if (!ret && !backend)
		ret = err_einval(err, errlen, "backend: missing");
	if (ret)
		goto err_free;
	ret = parse_backend(backend, cfg, err, errlen);
	if (ret)
		goto err_free;
	ret = get_object(root, "", "cache", &cache, err, errlen);
	if (ret)
		goto err_free;
	if (cache) {
		ret = parse_cache(cache, cfg, err, errlen);
	} else {
		cfg->cache_type = strdup("fscache");
		ret = cfg->cache_type ? 0 : -ENOMEM;
	}
	if (ret)
		goto err_free;
	*out = cfg;
	return 0;

err_free:
	config_free(cfg);
	return ret;
}

int config_parse_string(const char *text, struct fscached_config **out,
			char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t len = strlen(text), line = 1, i;
	int ret;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		size_t end = json_tokener_get_parse_end(tok);

		/* Trailing whitespace after the document is fine. */
		if (root && jerr == json_tokener_success &&
		    strspn(text + end, " \t\r\n") == len - end)
			goto parsed;
		for (i = 0; i < end && i < len; i++)
			line += text[i] == '\n';
		if (jerr == json_tokener_success || jerr == json_tokener_continue)
			ret = err_einval(err, errlen,
					   "invalid JSON at line %zu: %s", line,
					   root ? "unexpected data after the document"
						: "unexpected end of input");
		else
			ret = err_einval(err, errlen,
					   "invalid JSON at line %zu: %s", line,
					   json_tokener_error_desc(jerr));
		json_object_put(root);
		json_tokener_free(tok);
		return ret;
	}
parsed:
	json_tokener_free(tok);
	ret = config_from_json(root, out, err, errlen);
	json_object_put(root);
	return ret;
}

int config_parse_file(const char *path, struct fscached_config **out,
		      char *err, size_t errlen)
{
	char inner[CONFIG_ERR_MAX];
	struct stat st;
	size_t size;
	char *text;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		err_einval(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		return err_einval(err, errlen,
				    "%s: not a regular file of at most %d bytes",
				    path, CONFIG_FILE_MAX);
	}
	size = st.st_size;
	text = malloc(size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, text, size);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret || (size_t)n != size) {
		free(text);
		return err_einval(err, errlen, "%s: short read", path);
	}
	text[size] = '\0';
	if (strlen(text) != size) {
		free(text);
		return err_einval(err, errlen, "%s: contains a NUL byte",
				    path);
	}
	ret = config_parse_string(text, out, inner, sizeof(inner));
	free(text);
	if (ret == -EINVAL)
		err_einval(err, errlen, "%s: %s", path, inner);
	return ret;
}

int config_new_localfs(const char *id, const char *dir, const char *cache_type,
		       struct fscached_config **out, char *err, size_t errlen)
{
	struct json_object *root, *backend, *localfs, *cache;
	int ret = -ENOMEM;

	root = json_object_new_object();
	backend = json_object_new_object();
	localfs = json_object_new_object();
	cache = json_object_new_object();
	if (!root || !backend || !localfs || !cache)
		goto out;
	json_object_object_add(localfs, "dir", json_object_new_string(dir));
	json_object_object_add(backend, "type",
			       json_object_new_string("localfs"));
	json_object_object_add(backend, "localfs", localfs);
	localfs = NULL;
	json_object_object_add(cache, "type",
			       json_object_new_string(cache_type));
	json_object_object_add(root, "version", json_object_new_int(2));
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "backend", backend);
	backend = NULL;
	json_object_object_add(root, "cache", cache);
	cache = NULL;
	ret = config_from_json(root, out, err, errlen);
out:
	json_object_put(cache);
	json_object_put(localfs);
	json_object_put(backend);
	json_object_put(root);
	return ret;
}

struct fscached_config *config_dup(const struct fscached_config *cfg)
{
	struct fscached_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->id = strdup(cfg->id);
	c->backend_type = strdup(cfg->backend_type);
	c->cache_type = strdup(cfg->cache_type);
	c->work_dir = cfg->work_dir ? strdup(cfg->work_dir) : NULL;
	c->backend = NULL;
	if (json_object_deep_copy(cfg->backend, &c->backend, NULL))
		c->backend = NULL;
	c->prefetch = cfg->prefetch;
	c->validate = cfg->validate;
	if (!c->id || !c->backend_type || !c->cache_type || !c->backend ||
	    (cfg->work_dir && !c->work_dir)) {
		config_free(c);
		return NULL;
	}
	return c;
}

void config_free(struct fscached_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->id);
	free(cfg->backend_type);
	json_object_put(cfg->backend);
	free(cfg->cache_type);
	free(cfg->work_dir);
	free(cfg);
}

bool config_same_manager(const struct fscached_config *a,
			 const struct fscached_config *b)
{
	return !strcmp(a->id, b->id) &&
	       !strcmp(a->backend_type, b->backend_type) &&
	       !strcmp(a->cache_type, b->cache_type) &&
	       a->validate == b->validate &&
	       a->prefetch.enable == b->prefetch.enable &&
	       a->prefetch.prefetch_all == b->prefetch.prefetch_all &&
	       a->prefetch.threads == b->prefetch.threads &&
	       a->prefetch.batch_size == b->prefetch.batch_size &&
	       a->prefetch.bandwidth_limit == b->prefetch.bandwidth_limit;
}
