// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "www_auth.h"

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or a quoted string into @out; returns the end, or NULL. */
static const char *parse_value(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if ((unsigned char)*p < 0x20 || n + 1 >= len)
				return NULL;
			out[n++] = *p;
		}
		if (*p != '"')
			return NULL;
		p++;
	} else {
		for (; *p && *p != ',' && *p != ' ' && *p != '\t'; p++) {
			if ((unsigned char)*p < 0x21 || *p == '"' ||
			    n + 1 >= len)
				return NULL;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return p;
}

static char *param_slot(struct www_auth *a, const char *name, size_t *len)
{
	*len = WWW_AUTH_VALUE_MAX;
	if (!strcasecmp(name, "realm"))
		return a->realm;
	if (!strcasecmp(name, "service"))
		return a->service;
	if (!strcasecmp(name, "scope"))
		return a->scope;
	if (!strcasecmp(name, "error")) {
		*len = sizeof(a->error);
		return a->error;
	}
	return NULL;
}

int www_auth_parse(const char *header, struct www_auth *out)
{
	char name[64], ignored[WWW_AUTH_VALUE_MAX], *slot;
	const char *p = skip_space(header);
	size_t n, len;

	memset(out, 0, sizeof(*out));
	if (!strncasecmp(p, "Bearer", 6) && (!p[6] || isspace((unsigned char)p[6]))) {
		out->scheme = WWW_AUTH_BEARER;
		p += 6;
	} else if (!strncasecmp(p, "Basic", 5) &&
		   (!p[5] || isspace((unsigned char)p[5]))) {
		out->scheme = WWW_AUTH_BASIC;
		p += 5;
	} else {
		return -EINVAL;
	}
	for (;;) {
		p = skip_space(p);
		if (!*p)
			break;
		for (n = 0; isalnum((unsigned char)*p) || *p == '_' || *p == '-'; p++) {
			if (n + 1 >= sizeof(name))
				return -EINVAL;
			name[n++] = *p;
		}
		name[n] = '\0';
		p = skip_space(p);
		if (!n || *p != '=')
			return -EINVAL;
		p = skip_space(p + 1);
		slot = param_slot(out, name, &len);
		p = parse_value(p, slot ? slot : ignored,
				slot ? len : sizeof(ignored));
		if (!p)
			return -EINVAL;
		p = skip_space(p);
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	if (out->scheme == WWW_AUTH_BEARER && !out->realm[0])
		return -EINVAL;
	return 0;
}

int www_auth_parse_token(const char *body, char **token, long *ttl_s)
{
	struct json_object *root, *v;
	const char *tok = NULL;
	int64_t ttl;
	int ret = -EBADMSG;

	root = json_tokener_parse(body);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	if (json_object_object_get_ex(root, "token", &v) &&
	    json_object_is_type(v, json_type_string))
		tok = json_object_get_string(v);
	if ((!tok || !*tok) &&
	    json_object_object_get_ex(root, "access_token", &v) &&
	    json_object_is_type(v, json_type_string))
		tok = json_object_get_string(v);
	if (!tok || !*tok || strpbrk(tok, "\r\n"))
		goto out;
	if (json_object_object_get_ex(root, "expires_in", &v) &&
	    json_object_is_type(v, json_type_int)) {
		ttl = json_object_get_int64(v);
		if (ttl > 0)
			*ttl_s = ttl > WWW_AUTH_TOKEN_TTL_MAX ?
				 WWW_AUTH_TOKEN_TTL_MAX : (long)ttl;
	}
	*token = strdup(tok);
	ret = *token ? 0 : -ENOMEM;
out:
	json_object_put(root);
	return ret;
}
