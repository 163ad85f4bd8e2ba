/* SPDX-License-Identifier: GPL-2.0 */
/* What the remote backends (http, registry, s3, oss) share. Private. */
#ifndef FSCACHED_REMOTE_H
#define FSCACHED_REMOTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "http_client.h"

struct json_object;

struct remote_blob {
	struct backend_blob blob;
	char *id;
	pthread_mutex_t lock;
	char *redirect;		/* registry: where GETs were sent last */
};

int remote_blob_new(const char *id, struct remote_blob **out);
void remote_blob_free(struct remote_blob *rb);

/*
 * Check a backend's object: every key is one of @own or a common HTTP
 * option, every name of @required is a non-empty string, and the common
 * options parse; "scheme", when it is one of @own, is http or https.
 */
int remote_check_config(struct json_object *cfg, const char *where,
			const char *const *own, const char *const *required,
			char *err, size_t errlen);
/*
 * For the object stores (s3, oss): access_key_id and access_key_secret go
 * together, and the endpoint is a host[:port] without a scheme.
 */
int remote_check_object_store(struct json_object *cfg, const char *where,
			      char *err, size_t errlen);
/* The string at @key, or @def. */
const char *remote_string(struct json_object *cfg, const char *key,
			  const char *def);
bool remote_bool(struct json_object *cfg, const char *key, bool def);
/* An http_client for the common options of @cfg, counting into @be. */
int remote_client_create(struct json_object *cfg, struct backend *be,
			 struct http_client **out);

/*
 * The size of a blob with @call's prepare/inspect: HEAD, then a one-byte
 * ranged GET when the server answers HEAD without a length.
 */
int remote_blob_size(struct http_client *c, struct http_call *call,
		     uint64_t *size);

/*
 * A remote backend: the engine, and how to turn a call for a blob into a
 * URL and headers. The blob operations below are the same for all of them.
 */
struct remote_call;

struct remote_backend {
	struct backend be;
	struct http_client *client;
	const char *name;			/* for log lines */
	/* Sets call->url and call->headers for this attempt. */
	int (*prepare)(struct http_call *call);
	/* May look at a response first; NULL: the default verdicts. */
	enum http_verdict (*inspect)(struct http_call *call,
				     struct http_response *resp);
	/* After a successful open, before the call is released. */
	void (*opened)(struct remote_call *rc, struct remote_blob *rb);
	/* Frees what prepare/inspect kept in the call. */
	void (*release)(struct remote_call *rc);
};

/* A call of a remote backend; backends extend it (up to REMOTE_CALL_MAX). */
struct remote_call {
	struct http_call call;
	struct remote_backend *rbe;
	const char *id;
	struct remote_blob *rb;		/* NULL while opening */
};

#define REMOTE_CALL_MAX		512

int remote_blob_open(struct backend *be, const char *id,
		     struct backend_blob **out);
int remote_blob_stream(struct backend_blob *blob, uint64_t off, uint64_t len,
		       backend_consume_fn consume, void *ctx);
ssize_t remote_blob_read(struct backend_blob *blob, void *buf, size_t len,
			 uint64_t off);
void remote_blob_close(struct backend_blob *blob);

/* backend_ops.update of the remote backends: "proxy": {"url"}. */
int remote_update(struct backend *be, struct json_object *patch);

/* Turn a failed call into a log line naming the blob (never secrets). */
void remote_log_failure(const char *backend, const char *id,
			const char *what, int err,
			const struct http_call *call);

#endif
