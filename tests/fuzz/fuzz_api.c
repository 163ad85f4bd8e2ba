// SPDX-License-Identifier: GPL-2.0
/*
 * The control API end to end: each input becomes one HTTP request (a
 * method, a path with its query string, a body) sent to the real server on
 * its unix socket, in front of a stand-in daemon with real bindings. The
 * server must answer every request, with a status it may give.
 *
 * Input: byte 0 picks the method; the path runs to the first '\n'; the
 * rest is the body.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "image/bindings.h"
#include "config/config.h"
#include "fuzz.h"
#include "lib/log.h"

#define MAX_PATH	2048

static struct bindings bindings;
static struct api_daemon ops;
static struct api_server *server;
static char sock_path[108];

static struct json_object *info(void *ctx)
{
	(void)ctx;
	return json_tokener_parse("{\"id\": \"fuzz\", \"state\": \"RUNNING\"}");
}

static struct json_object *stats(void *ctx)
{
	(void)ctx;
	return json_tokener_parse("{\"frontend\": {\"reads\": 1},"
				  " \"factory\": {\"total\": {\"fills\": 2}}}");
}

static void do_exit(void *ctx)
{
	(void)ctx;
}

static int lifecycle(void *ctx, char *why, size_t len)
{
	(void)ctx;
	snprintf(why, len, "not here");
	return -EBUSY;
}

static int cull(void *ctx, const char *blob_id, char *why, size_t len)
{
	(void)ctx, (void)why, (void)len;
	FUZZ_CHECK(!strchr(blob_id, '/'));
	return -ENOENT;
}

static int update_config(void *ctx, const char *id,
			 const struct config_update *u)
{
	(void)ctx, (void)id;
	FUZZ_CHECK(u->registry_auth || u->proxy_url);
	return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	snprintf(sock_path, sizeof(sock_path), "/tmp/fscached-fuzz-api-%d.sock",
		 (int)getpid());
	bindings_init(&bindings);
	ops = (struct api_daemon){
		.info = info, .stats = stats, .exit = do_exit,
		.start = lifecycle, .sendfd = lifecycle, .takeover = lifecycle,
		.cull = cull, .update_config = update_config,
		.bindings = &bindings,
	};
	if (api_start(sock_path, &ops, &server)) {
		fprintf(stderr, "fuzz_api: cannot serve on %s\n", sock_path);
		abort();
	}
	return 0;
}

static int connect_server(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	return fd;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;	/* the server may refuse early: fine */
		p += n;
		len -= n;
	}
	return true;
}

/* The whole answer; its status, or 0 when the server closed without one. */
static int read_answer(int fd)
{
	static char buf[1 << 16];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	int status = 0;
	ssize_t n;

	for (;;) {
		/*
		 * A server that never answers is a bug: let it show. (libFuzzer's
		 * timer interrupts poll(): that is no answer yet.)
		 */
		do
			n = poll(&p, 1, 10000);
		while (n < 0 && errno == EINTR);
		FUZZ_CHECK(n == 1);
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += n;
		if (got == sizeof(buf) - 1)
			got = 0;	/* only the status line matters */
		if (!status && got >= 12)
			sscanf(buf, "HTTP/1.%*c %d", &status);
	}
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "PUT", "DELETE", "POST" };
	const uint8_t *nl;
	size_t path_len, body_len;
	char head[MAX_PATH + 256];
	int fd, len, status;

	if (!size)
		return 0;
	nl = memchr(data + 1, '\n', size - 1);
	path_len = nl ? (size_t)(nl - data - 1) : size - 1;
	if (path_len > MAX_PATH)
		return 0;
	body_len = nl ? size - 2 - path_len : 0;
	len = snprintf(head, sizeof(head),
		       "%s %.*s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		       methods[data[0] % 4], (int)path_len,
		       (const char *)data + 1, body_len);
	fd = connect_server();
	if (send_all(fd, head, len) && body_len)
		send_all(fd, nl + 1, body_len);
	shutdown(fd, SHUT_WR);
	status = read_answer(fd);
	close(fd);
	/* libmicrohttpd may drop a request line it cannot parse at all. */
	FUZZ_CHECK(!status || (status >= 200 && status < 600 && status != 500));
	/* Keep the bound images from piling up across inputs. */
	if (bindings.count > 64) {
		bindings_destroy(&bindings);
		bindings_init(&bindings);
	}
	return 0;
}
