// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/fdpass.h"
#include "lib/log.h"
#include "supervisor.h"

/* The supervisor listens before it asks us: it answers at once or never. */
#define SUPERVISOR_TIMEOUT_S	10
#define SUPERVISOR_CHUNK	(64u << 10)

static int supervisor_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = SUPERVISOR_TIMEOUT_S };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int supervisor_send_states(const char *path, int dev_fd, const char *states,
			   size_t len)
{
	int sock, ret;

	sock = supervisor_connect(path);
	if (sock < 0) {
		log_error("cannot reach the supervisor at %s: %s (it listens only while it asks for our states)",
			  path, strerror(-sock));
		return sock;
	}
	ret = fdpass_send(sock, states, len, dev_fd);
	if (ret)
		log_error("cannot send our states to the supervisor at %s: %s",
			  path, strerror(-ret));
	close(sock);
	return ret;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	char *p;

	if (need <= *cap)
		return 0;
	if (need > SUPERVISOR_STATES_MAX + 1)
		return -EFBIG;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

int supervisor_take_states(const char *path, int *dev_fd, char **states,
			   size_t *len)
{
	size_t used = 0, cap = 0;
	char *buf = NULL;
	int sock, fd = -1, ret;
	ssize_t n;

	sock = supervisor_connect(path);
	if (sock < 0) {
		log_error("cannot reach the supervisor at %s: %s", path,
			  strerror(-sock));
		return sock;
	}
	for (;;) {
		ret = grow(&buf, &cap, used + SUPERVISOR_CHUNK + 1);
		if (ret)
			goto err;
		n = fdpass_recv(sock, buf + used, SUPERVISOR_CHUNK, &fd);
		if (n < 0) {
			ret = n;
			goto err;
		}
		if (!n)
			break;
		used += n;
	}
	close(sock);
	if (fd < 0) {
		log_error("the supervisor at %s sent no device fd: nothing to take over (did the old daemon send its states?)",
			  path);
		free(buf);
		return -ENODATA;
	}
	buf[used] = '\0';
	*dev_fd = fd;
	*states = buf;
	*len = used;
	return 0;
err:
	log_error("cannot take our states from the supervisor at %s: %s",
		  path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	free(buf);
	close(sock);
	return ret;
}
