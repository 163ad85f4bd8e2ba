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

#endif
