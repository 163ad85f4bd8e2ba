// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/fdpass.h"
#include "notify.h"

/* sd_listen_fds(3): passed descriptors start at 3. */
#define LISTEN_FDS_START	3

static int notify_connect(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t sa_len;
	size_t len;
	int fd;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	/* A path, or an abstract socket written with a leading '@'. */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	sa_len = offsetof(struct sockaddr_un, sun_path) + len;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sa_len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

int service_notify_fd(const char *state, int fd)
{
	int sock, ret;

	sock = notify_connect();
	if (sock <= 0)
		return sock;
	ret = fdpass_send(sock, state, strlen(state), fd);
	close(sock);
	return ret ? ret : 1;
}

int service_notify(const char *state)
{
	return service_notify_fd(state, -1);
}

/* The index of @name in the ':'-separated @names, or -1. */
static int name_index(const char *names, const char *name)
{
	size_t len = strlen(name);
	const char *p = names;
	int i = 0;

	while (p) {
		if (!strncmp(p, name, len) && (p[len] == ':' || !p[len]))
			return i;
		p = strchr(p, ':');
		if (p)
			p++;
		i++;
	}
	return -1;
}

int service_listen_fd(const char *name)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char self[32];
	int nr, i, fd, ret = -ENOENT;

	snprintf(self, sizeof(self), "%d", (int)getpid());
	if (!pid || !count || !names || strcmp(pid, self))
		goto out;
	nr = atoi(count);
	i = name_index(names, name);
	if (i < 0 || i >= nr)
		goto out;
	fd = LISTEN_FDS_START + i;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	ret = fd;
out:
	/* Like sd_listen_fds(unset=1): children must not take them too. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return ret;
}
