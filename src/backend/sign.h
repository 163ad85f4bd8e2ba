/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request signing for object stores: AWS Signature Version 4 (S3) and
 * Aliyun OSS V1. Pure functions over strings; the crypto is OpenSSL's.
 */
#ifndef FSCACHED_SIGN_H
#define FSCACHED_SIGN_H

#include <stddef.h>
#include <time.h>

struct sign_header {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;
	const char *host;		/* as sent in Host: */
	const char *path;		/* URI-encoded path, "/" at least */
	const char *query;		/* raw "k=v&k2=v2", may be NULL */
	const struct sign_header *headers;	/* more headers to sign */
	size_t nr_headers;
	const char *payload_hash;	/* hex sha256, or UNSIGNED-PAYLOAD */
	const char *region;
	const char *service;
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL if none */
};

#define SIGN_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The value of the Authorization header; -ENOSPC if @len is too small. */
int sigv4_authorization(const struct sigv4_request *req, char *out,
			size_t len);
/* "YYYYMMDDTHHMMSSZ" of @t. */
void sigv4_amz_date(time_t t, char out[17]);

/*
 * Percent-encode @in as SigV4 wants (unreserved characters kept, '/' kept
 * when @keep_slash).
 */
int sign_uri_encode(const char *in, int keep_slash, char *out, size_t len);

struct oss_request {
	const char *verb;
	const char *content_md5;	/* may be "" */
	const char *content_type;	/* may be "" */
	const char *date;		/* RFC 1123, as in the Date header */
	const struct sign_header *oss_headers;	/* x-oss-* headers */
	size_t nr_oss_headers;
	const char *resource;		/* "/bucket/key[?subresource]" */
};

/* base64(hmac-sha1(secret, string to sign)) into @out. */
int oss_signature(const struct oss_request *req, const char *secret,
		  char *out, size_t len);
/* RFC 1123 date of @t, as OSS and HTTP want it. */
void sign_http_date(time_t t, char out[30]);

#endif
