// SPDX-License-Identifier: GPL-2.0
/* The common options of remote backends (timeouts, retries, TLS, proxy). */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

static const char *const common_fields[] = {
	"timeout", "connect_timeout", "retry_limit", "retry_delay_ms",
	"skip_verify", "ca_file", "proxy", "resolve", NULL
};

bool http_config_field(const char *key)
{
	const char *const *f;

	for (f = common_fields; *f; f++)
		if (!strcmp(*f, key))
			return true;
	return false;
}

static int cfg_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cfg_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cfg_uint(struct json_object *o, const char *where, const char *key,
		    unsigned int max, unsigned int *out, char *err,
		    size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return cfg_error(err, errlen, "%s.%s: must be an integer",
				 where, key);
	n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return cfg_error(err, errlen, "%s.%s: %" PRId64 " is out of range (0..%u)",
				 where, key, n, max);
	*out = n;
	return 0;
}

static int cfg_bool(struct json_object *o, const char *where, const char *key,
		    bool *out, char *err, size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return cfg_error(err, errlen, "%s.%s: must be true or false",
				 where, key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int cfg_string(struct json_object *o, const char *where,
		      const char *key, char **out, char *err, size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cfg_error(err, errlen, "%s.%s: must be a string", where,
				 key);
	free(*out);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static int parse_proxy(struct json_object *p, const char *where,
		       struct http_config *cfg, char *err, size_t errlen)
{
	char pwhere[96];
	int ret;

	snprintf(pwhere, sizeof(pwhere), "%s.proxy", where);
	if (!json_object_is_type(p, json_type_object))
		return cfg_error(err, errlen, "%s: must be an object", pwhere);
	json_object_object_foreach(p, key, val) {
		(void)val;
		if (strcmp(key, "url") && strcmp(key, "fallback") &&
		    strcmp(key, "ping_url") && strcmp(key, "check_interval") &&
		    strcmp(key, "use_http"))
			return cfg_error(err, errlen, "%s.%s: unknown field",
					 pwhere, key);
	}
	ret = cfg_string(p, pwhere, "url", &cfg->proxy_url, err, errlen);
	if (!ret)
		ret = cfg_bool(p, pwhere, "fallback", &cfg->proxy_fallback, err,
			       errlen);
	if (!ret)
		ret = cfg_uint(p, pwhere, "check_interval", 86400,
			       &cfg->proxy_check_interval_s, err, errlen);
	if (!ret && cfg->proxy_url && !*cfg->proxy_url) {
		free(cfg->proxy_url);
		cfg->proxy_url = NULL;
	}
	return ret;
}

static int parse_resolve(struct json_object *a, const char *where,
			 struct http_config *cfg, char *err, size_t errlen)
{
	struct curl_slist *l;
	size_t i;

	if (!json_object_is_type(a, json_type_array))
		return cfg_error(err, errlen,
				 "%s.resolve: must be an array of \"host:port:address\"",
				 where);
	for (i = 0; i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) ||
		    !strchr(s, ':') || strchr(s, ':') == strrchr(s, ':'))
			return cfg_error(err, errlen,
					 "%s.resolve[%zu]: must be \"host:port:address\"",
					 where, i);
		l = curl_slist_append(cfg->resolve, s);
		if (!l)
			return -ENOMEM;
		cfg->resolve = l;
	}
	return 0;
}

int http_config_parse(struct json_object *o, const char *where,
		      struct http_config *cfg, char *err, size_t errlen)
{
	unsigned int timeout = 30, connect_timeout = 5;
	struct json_object *proxy, *resolve;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->retry_limit = 3;
	cfg->retry_delay_ms = 200;
	cfg->retry_max_delay_ms = 5000;
	cfg->proxy_fallback = true;
	cfg->proxy_check_interval_s = 5;
	ret = cfg_uint(o, where, "timeout", 3600, &timeout, err, errlen);
	if (!ret)
		ret = cfg_uint(o, where, "connect_timeout", 600,
			       &connect_timeout, err, errlen);
	if (!ret)
		ret = cfg_uint(o, where, "retry_limit", 100, &cfg->retry_limit,
			       err, errlen);
	if (!ret)
		ret = cfg_uint(o, where, "retry_delay_ms", 60000,
			       &cfg->retry_delay_ms, err, errlen);
	if (!ret)
		ret = cfg_bool(o, where, "skip_verify", &cfg->skip_verify, err,
			       errlen);
	if (!ret)
		ret = cfg_string(o, where, "ca_file", &cfg->ca_file, err,
				 errlen);
	if (!ret && json_object_object_get_ex(o, "proxy", &proxy))
		ret = parse_proxy(proxy, where, cfg, err, errlen);
	if (!ret && json_object_object_get_ex(o, "resolve", &resolve))
		ret = parse_resolve(resolve, where, cfg, err, errlen);
	if (!ret && (!timeout || !connect_timeout))
		ret = cfg_error(err, errlen,
				"%s: timeout and connect_timeout must be at least 1 second",
				where);
	cfg->timeout_ms = timeout * 1000;
	cfg->connect_timeout_ms = connect_timeout * 1000;
	if (ret)
		http_config_release(cfg);
	return ret;
}

void http_config_release(struct http_config *cfg)
{
	free(cfg->ca_file);
	free(cfg->proxy_url);
	curl_slist_free_all(cfg->resolve);
	cfg->ca_file = NULL;
	cfg->proxy_url = NULL;
	cfg->resolve = NULL;
}

