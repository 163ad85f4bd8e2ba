// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "server.h"

struct api_server {
	struct MHD_Daemon *mhd;
	const struct api_route *routes;
	void *ctx;
	char *path;
	int fd;
};

/* What MHD keeps for one request while its body arrives. */
struct api_body {
	char *data;
	size_t len;
	bool too_big;
	void (*then)(void *ctx);	/* the response's, after it is sent */
	void *then_ctx;
};

const char *api_query(const struct api_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   key);
}

void api_error(struct api_response *resp, unsigned int status,
	       const char *code, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_put(resp->json);
	resp->json = o;
	resp->status = status;
}

struct json_object *api_body_object(const struct api_request *req,
				    struct api_response *resp)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;

	if (!req->body_len) {
		api_error(resp, 400, "InvalidRequest", "a JSON object body is needed");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		api_error(resp, 500, "InternalError", "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	jerr = json_tokener_get_error(tok);
	if (!o || jerr != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != req->body_len) {
		api_error(resp, 400, "InvalidRequest", "the body is not valid JSON: %s",
			  o ? "trailing data" : json_tokener_error_desc(jerr));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		api_error(resp, 400, "InvalidRequest", "the body must be a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void api_dispatch(struct api_server *s, const struct api_request *req,
			 struct api_response *resp)
{
	const struct api_route *r;
	bool path_known = false;

	for (r = s->routes; r->method; r++) {
		if (strcmp(r->path, req->path))
			continue;
		path_known = true;
		if (!strcmp(r->method, req->method)) {
			r->fn(s->ctx, req, resp);
			return;
		}
	}
	if (path_known)
		api_error(resp, 405, "MethodNotAllowed", "%s is not allowed on %s",
			  req->method, req->path);
	else
		api_error(resp, 404, "NotFound", "no such endpoint: %s", req->path);
}

static enum MHD_Result api_send(struct MHD_Connection *conn,
				struct api_response *resp)
{
	struct MHD_Response *r;
	const char *text, *type = "application/json";
	enum MHD_Result ret;
	size_t len = 0;

	if (resp->text) {
		text = resp->text;
		type = resp->content_type ? resp->content_type : "text/plain";
	} else if (resp->json) {
		text = json_object_to_json_string_ext(resp->json,
						      JSON_C_TO_STRING_PLAIN);
	} else {
		text = "";
	}
	len = strlen(text);
	r = MHD_create_response_from_buffer(len, (void *)text,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (len)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct api_server *s = cls;
	struct api_body *body = *con_cls;
	struct api_response resp = { .status = 200 };
	struct api_request req;
	enum MHD_Result ret;

	(void)version;
	if (!body) {
		/* First call: headers only. */
		body = calloc(1, sizeof(*body));
		if (!body)
			return MHD_NO;
		*con_cls = body;
		return MHD_YES;
	}
	if (*upload_len) {
		if (!body->too_big && body->len + *upload_len <= API_MAX_BODY) {
			char *p = realloc(body->data, body->len + *upload_len + 1);

			if (!p)
				return MHD_NO;
			memcpy(p + body->len, upload, *upload_len);
			body->data = p;
			body->len += *upload_len;
			body->data[body->len] = '\0';
		} else {
			body->too_big = true;
		}
		*upload_len = 0;
		return MHD_YES;
	}
	req = (struct api_request){
		.method = method,
		.path = url,
		.body = body->data ? body->data : "",
		.body_len = body->len,
		.conn = conn,
	};
	if (body->too_big)
		api_error(&resp, 413, "PayloadTooLarge",
			  "request bodies are limited to %d bytes", API_MAX_BODY);
	else
		api_dispatch(s, &req, &resp);
	log_debug("api: %s %s -> %u", method, url, resp.status);
	body->then = resp.then;
	body->then_ctx = resp.then_ctx;
	ret = api_send(conn, &resp);
	json_object_put(resp.json);
	free(resp.text);
	return ret;
}

static void api_completed(void *cls, struct MHD_Connection *conn,
			  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct api_body *body = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (body) {
		if (body->then)
			body->then(body->then_ctx);
		free(body->data);
		free(body);
		*con_cls = NULL;
	}
}

/* A socket file left by a dead daemon goes; a live one is not ours. */
static int api_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, probe, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Created 0600: the API can unbind images and stop the daemon. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int api_server_start(const char *path, const struct api_route *routes,
		     void *ctx, struct api_server **out)
{
	struct api_server *s;
	int ret;

	ret = mhd_dl_load();
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->routes = routes;
	s->ctx = ctx;
	s->path = strdup(path);
	s->fd = api_listen(path);
	if (!s->path || s->fd < 0) {
		ret = s->fd < 0 ? s->fd : -ENOMEM;
		goto err;
	}
	/*
	 * A thread per connection: a request may wait on a backend (a
	 * fanotify mount opens its data blobs) and must hold up no other,
	 * least of all the runtime's liveness checks.
	 */
	s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_THREAD_PER_CONNECTION |
				  MHD_USE_ERROR_LOG,
				  0, NULL, NULL, api_access, s,
				  MHD_OPTION_LISTEN_SOCKET, s->fd,
				  MHD_OPTION_NOTIFY_COMPLETED, api_completed, s,
				  /*
				   * Never close an idle connection:
				   * nydus-snapshotter's liveness monitor
				   * holds one open and takes its hangup
				   * for the daemon's death (it then
				   * "restarts" a daemon that is running).
				   */
				  MHD_OPTION_CONNECTION_TIMEOUT, 0U,
				  MHD_OPTION_CONNECTION_LIMIT, 64U,
				  MHD_OPTION_END);
	if (!s->mhd) {
		ret = -EIO;
		goto err;
	}
	*out = s;
	return 0;
err:
	if (s->fd >= 0) {
		close(s->fd);
		unlink(path);
	}
	free(s->path);
	free(s);
	return ret;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}
