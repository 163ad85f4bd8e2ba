/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP control server: libmicrohttpd on a unix socket (mode 0600),
 * JSON in and out. Routes are a table of method + path -> handler; this
 * file knows nothing of what they do. Errors are {"code", "message"} with
 * the HTTP status that fits, as nydusd answers.
 */
#ifndef FSCACHED_API_SERVER_H
#define FSCACHED_API_SERVER_H

#include <stdarg.h>
#include <stddef.h>

struct json_object;
struct api_server;

/* Bodies above this are refused with 413 before they are read. */
#define API_MAX_BODY	(64 * 1024)

struct api_request {
	const char *method;
	const char *path;
	const char *body;		/* NUL-terminated, may be empty */
	size_t body_len;
	void *conn;			/* for api_query() */
};

struct api_response {
	unsigned int status;
	struct json_object *json;	/* owned; or: */
	char *text;			/* malloc'd, with content_type */
	const char *content_type;
	/*
	 * Called once the response has gone out (or the connection ended):
	 * what stops the daemon must not close the connection before the
	 * client has its answer.
	 */
	void (*then)(void *ctx);
	void *then_ctx;
};

typedef void (*api_handler_fn)(void *ctx, const struct api_request *req,
			       struct api_response *resp);

struct api_route {
	const char *method;
	const char *path;
	api_handler_fn fn;
};

/* Load libmicrohttpd (on first use, see dlib.h): 0 or -ENOENT, logged. */
int mhd_dl_load(void);

/*
 * Listen on @path (replacing a stale socket, refusing one a live server
 * answers on) and serve @routes (ended by a NULL method) with @ctx.
 */
int api_server_start(const char *path, const struct api_route *routes,
		     void *ctx, struct api_server **out);
void api_server_stop(struct api_server *s);

/* A query parameter of the request, or NULL. */
const char *api_query(const struct api_request *req, const char *key);
void api_error(struct api_response *resp, unsigned int status,
	       const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The body as a JSON object; on error, a 400 in @resp and NULL. */
struct json_object *api_body_object(const struct api_request *req,
				    struct api_response *resp);

#endif
