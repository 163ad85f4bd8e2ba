/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one HTTP engine every remote backend shares, on libcurl: a pool of
 * easy handles over a share handle (connections, DNS and TLS sessions are
 * reused across requests and threads), ranged GETs whose answer is checked
 * before a byte is handed on, HEAD for sizes, timeouts, retries with
 * exponential backoff and jitter, TLS verification, and a proxy that falls
 * back to direct connections while it is down.
 */
#ifndef FSCACHED_HTTP_CLIENT_H
#define FSCACHED_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct curl_slist;
struct http_client;

/* Options shared by every remote backend, with nydus's names. */
struct http_config {
	unsigned int timeout_ms;		/* whole request; "timeout" (s) */
	unsigned int connect_timeout_ms;	/* "connect_timeout" (s) */
	unsigned int retry_limit;		/* retries after the first try */
	unsigned int retry_delay_ms;		/* first backoff; doubles */
	unsigned int retry_max_delay_ms;
	bool skip_verify;
	char *ca_file;
	char *proxy_url;
	bool proxy_fallback;
	unsigned int proxy_check_interval_s;
	struct curl_slist *resolve;		/* "host:port:addr", like curl --resolve */
};

/* Is @key one of the common fields that http_config_parse() reads? */
bool http_config_field(const char *key);
int http_config_parse(struct json_object *cfg, const char *where,
		      struct http_config *out, char *err, size_t errlen);
void http_config_release(struct http_config *cfg);

/* Load libcurl (on first use, see dlib.h): 0 or -ENOENT, logged. */
int curl_dl_load(void);

/*
 * Takes over @cfg's allocations (it is zeroed). New connections are counted
 * in *@connections when it is not NULL.
 */
int http_client_create(struct http_config *cfg, uint64_t *connections,
		       struct http_client **out);
void http_client_destroy(struct http_client *c);
/*
 * "bytes FIRST-LAST/TOTAL" (TOTAL may be "*": 0). 0, or -EINVAL when it is
 * not that or LAST < FIRST.
 */
int http_parse_content_range(const char *v, uint64_t *first, uint64_t *last,
			     uint64_t *total);
/* Send later requests through @url (NULL or "": directly). */
int http_client_set_proxy(struct http_client *c, const char *url);

struct http_response {
	long status;
	int curl_code;			/* CURLcode of the transfer */
	uint64_t got;			/* body bytes delivered */
	int64_t content_length;		/* -1: unknown */
	uint64_t range_total;		/* from Content-Range, 0: unknown */
	long retry_after_s;
	char *location;			/* Location header, malloc'd */
	char *www_authenticate;		/* malloc'd */
	int data_error;			/* body did not match the request */
	int consume_error;		/* call->consume() failed: -errno */
	bool via_proxy;
	bool net_again;			/* the network says: again at once */
	char error[256];		/* curl's error or the body's start */
};

void http_response_reset(struct http_response *resp);

/*
 * One request. @url and @headers are set per attempt by prepare(), which
 * may sign it; inspect() may look at a response first (0: use the default
 * verdict, or one of enum http_verdict).
 */
enum http_verdict {
	HTTP_DEFAULT = 0,
	HTTP_DONE,		/* success */
	HTTP_AGAIN,		/* try again at once (new auth, redirect) */
	HTTP_RETRY,		/* transient: back off, try again */
	HTTP_FAIL,		/* give up; the call returns call->error */
};

struct http_call {
	const char *method;		/* "GET" or "HEAD" */
	bool ranged;
	uint64_t off, len;		/* the range, for GET */
	void *buf;			/* len bytes, for GET */
	/*
	 * Instead of @buf: the body of a ranged GET, in order, in pieces.
	 * What was consumed stays consumed: a retry asks for the rest only.
	 * A negative return ends the call with that error, without retries.
	 */
	int (*consume)(void *ctx, const void *data, size_t n);
	void *consume_ctx;
	bool up_to_len;			/* unranged GET: any length <= len */
	char *url;			/* set by prepare(); freed by the engine */
	struct curl_slist *headers;	/* set by prepare(); freed likewise */
	int (*prepare)(struct http_call *call);
	enum http_verdict (*inspect)(struct http_call *call,
				     struct http_response *resp);
	void *ctx;
	int error;			/* -errno when inspect() says FAIL */
	struct http_response resp;	/* the last response */
	unsigned int attempts;
};

/*
 * Run @call to completion: returns 0 with the body in call->buf or given
 * to call->consume() (or the size in call->resp for HEAD), or -errno: -ENOENT (404), -EACCES
 * (401/403), -ETIMEDOUT, -EIO (anything else, including a body that does
 * not match the range).
 */
int http_call_run(struct http_client *c, struct http_call *call);
void http_call_release(struct http_call *call);

/* Helpers for prepare(). */
int http_call_set_url(struct http_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int http_call_add_header(struct http_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The size of a blob at a URL: HEAD, or a one-byte GET when HEAD fails. */
struct http_client_stats {
	uint64_t requests;
	uint64_t retries;
	uint64_t proxy_fallbacks;
};
void http_client_stats(struct http_client *c, struct http_client_stats *st);

#endif
