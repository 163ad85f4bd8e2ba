// SPDX-License-Identifier: GPL-2.0
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdpass.h"
#include "holder.h"

struct body {
	char buf[4096];
	size_t len;
};

static size_t body_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, ptr, len < room ? len : room);
	b->len += len < room ? len : room;
	b->buf[b->len] = '\0';
	return len;
}

static int api_request(const char *sock, const char *method, const char *path,
		       const char *body, struct body *out)
{
	char url[512];
	long status = 0;
	CURLcode rc;
	CURL *c;

	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (!strcmp(method, "GET"))
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? (int)status : -ECONNREFUSED;
}

int ktest_api(const char *sock, const char *method, const char *path,
	      const char *body)
{
	struct body out = { .len = 0 };

	return api_request(sock, method, path, body, &out);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int ktest_api_wait_state(const char *sock, const char *state, unsigned int ms)
{
	struct json_object *root, *v;
	unsigned int waited;
	struct body out;
	bool match;

	for (waited = 0; waited <= ms; waited += 10) {
		out.len = 0;
		out.buf[0] = '\0';
		if (api_request(sock, "GET", "/api/v1/daemon", NULL, &out) == 200) {
			root = json_tokener_parse(out.buf);
			match = root && json_object_object_get_ex(root, "state", &v) &&
				!strcmp(json_object_get_string(v), state);
			json_object_put(root);
			if (match)
				return 0;
		}
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int ktest_fdstore_open(struct ktest_fdstore *s, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/notify.sock", dir) >=
	    sizeof(s->path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, s->path);
	unlink(s->path);
	s->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->sock < 0 || bind(s->sock, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* One notification: "KEY=VALUE" lines, maybe with a descriptor. */
static void fdstore_take(struct ktest_fdstore *s)
{
	char msg[1024];
	ssize_t n;
	int fd = -1;

	n = fdpass_recv(s->sock, msg, sizeof(msg) - 1, &fd);
	if (n < 0)
		return;
	msg[n] = '\0';
	if (strstr(msg, "READY=1"))
		s->ready++;
	if (fd >= 0 && strstr(msg, "FDSTORE=1") &&
	    strstr(msg, "FDNAME=cachefiles")) {
		/* systemd keeps one copy per file: a new one replaces ours. */
		if (s->fd >= 0)
			close(s->fd);
		s->fd = fd;
		s->stored++;
	} else if (fd >= 0) {
		close(fd);
	}
}

int ktest_fdstore_wait_fd(struct ktest_fdstore *s, unsigned int ms)
{
	struct pollfd p = { .fd = s->sock, .events = POLLIN };
	unsigned int before = s->stored;
	unsigned int waited;

	for (waited = 0; waited <= ms; waited += 10) {
		while (poll(&p, 1, 0) == 1)
			fdstore_take(s);
		if (s->stored > before || (s->fd >= 0 && !ms))
			return 0;
		sleep_ms(10);
	}
	return s->fd >= 0 ? 0 : -ETIMEDOUT;
}

void ktest_fdstore_close(struct ktest_fdstore *s)
{
	if (s->sock > 0)
		close(s->sock);
	if (s->fd >= 0)
		close(s->fd);
	unlink(s->path);
	s->sock = 0;
	s->fd = -1;
}

void ktest_supervisor_init(struct ktest_supervisor *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s/supervisor.sock", dir);
}

void ktest_supervisor_destroy(struct ktest_supervisor *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->states);
	unlink(s->path);
	s->fd = -1;
	s->states = NULL;
}

static int supervisor_listen(struct ktest_supervisor *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	strcpy(sa.sun_path, s->path);
	unlink(s->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The API call runs beside the socket work: the daemon answers only after. */
struct api_thread {
	pthread_t tid;
	const char *sock, *path;
	int status;
};

static void *api_thread_fn(void *arg)
{
	struct api_thread *t = arg;

	t->status = ktest_api(t->sock, "PUT", t->path, NULL);
	return NULL;
}

static int accept_within(int lfd, unsigned int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Receive the daemon's states and device fd on @conn. */
static int supervisor_receive(struct ktest_supervisor *s, int conn)
{
	char buf[65536], *p;
	int fd = -1, ret = 0;
	ssize_t n;

	free(s->states);
	s->states = NULL;
	s->len = 0;
	while ((n = fdpass_recv(conn, buf, sizeof(buf), &fd)) > 0) {
		p = realloc(s->states, s->len + n + 1);
		if (!p) {
			ret = -ENOMEM;
			break;
		}
		s->states = p;
		memcpy(s->states + s->len, buf, n);
		s->len += n;
		s->states[s->len] = '\0';
	}
	if (!ret && n < 0)
		ret = n;
	if (fd < 0)
		return ret ? ret : -ENODATA;
	/* As the snapshotter: the newest fd replaces the one kept. */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	return ret;
}

/* Give the states and the device fd back on @conn. */
static int supervisor_send(struct ktest_supervisor *s, int conn)
{
	bool have = s->states && s->len;

	return fdpass_send(conn, have ? s->states : "{}", have ? s->len : 2,
			   s->fd);
}

/*
 * One exchange as the snapshotter makes it: listen, ask the daemon through
 * @api_path (the call returns only once the daemon is done with us), serve
 * the one connection with @serve.
 */
static int supervisor_session(struct ktest_supervisor *s, const char *apisock,
			      const char *api_path,
			      int (*serve)(struct ktest_supervisor *, int))
{
	struct api_thread t = { .sock = apisock, .path = api_path };
	int lfd, conn, ret;

	lfd = supervisor_listen(s);
	if (lfd < 0)
		return lfd;
	pthread_create(&t.tid, NULL, api_thread_fn, &t);
	conn = accept_within(lfd, 30000);
	if (conn < 0) {
		ret = conn;
	} else {
		ret = serve(s, conn);
		close(conn);
	}
	pthread_join(t.tid, NULL);
	close(lfd);
	unlink(s->path);
	if (!ret && t.status != 204)
		ret = -EPROTO;
	return ret;
}

int ktest_supervisor_fetch(struct ktest_supervisor *s, const char *apisock)
{
	return supervisor_session(s, apisock, "/api/v1/daemon/fuse/sendfd",
				  supervisor_receive);
}

int ktest_supervisor_give(struct ktest_supervisor *s, const char *apisock)
{
	if (s->fd < 0)
		return -ENODATA;
	return supervisor_session(s, apisock, "/api/v1/daemon/fuse/takeover",
				  supervisor_send);
}
