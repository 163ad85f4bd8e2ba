/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A parser for the WWW-Authenticate challenge of a registry (RFC 7235):
 *   Bearer realm="https://auth.example/token",service="registry",
 *          scope="repository:library/alpine:pull"
 *   Basic realm="Registry Realm"
 * Input from the network: every length is bounded, every string checked.
 */
#ifndef FSCACHED_WWW_AUTH_H
#define FSCACHED_WWW_AUTH_H

#define WWW_AUTH_VALUE_MAX	1024

enum www_auth_scheme {
	WWW_AUTH_NONE,
	WWW_AUTH_BASIC,
	WWW_AUTH_BEARER,
};

struct www_auth {
	enum www_auth_scheme scheme;
	char realm[WWW_AUTH_VALUE_MAX];
	char service[WWW_AUTH_VALUE_MAX];
	char scope[WWW_AUTH_VALUE_MAX];
	char error[128];		/* e.g. "invalid_token", may be "" */
};

/* 0, or -EINVAL for anything malformed or of an unknown scheme. */
int www_auth_parse(const char *header, struct www_auth *out);

/* A token service's answer lives at most this long here, whatever it says. */
#define WWW_AUTH_TOKEN_TTL_MAX	86400

/*
 * The token service's JSON answer (@body, NUL-terminated): the "token" (or
 * "access_token") in *@token, to free, and "expires_in" in *@ttl_s when it
 * gives one (clamped to 1..WWW_AUTH_TOKEN_TTL_MAX). -EBADMSG when there is
 * no usable token (none, empty, or with a line break).
 */
int www_auth_parse_token(const char *body, char **token, long *ttl_s);

#endif
