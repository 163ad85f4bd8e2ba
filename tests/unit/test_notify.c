// SPDX-License-Identifier: GPL-2.0
/* The sd_notify protocol, as a service manager receives it. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "service/notify.h"

static int bind_socket(struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)sa, len) < 0)
		return -1;
	return fd;
}

TEST(ready_reaches_a_path_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char got[64] = "";
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/fscached-notify-%d",
		 (int)getpid());
	unlink(sa.sun_path);
	fd = bind_socket(&sa, sizeof(sa));
	ASSERT_GE(fd, 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	EXPECT_EQ(1, service_notify("READY=1"));
	EXPECT_EQ(7, recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT));
	EXPECT_STREQ("READY=1", got);
	close(fd);
	unlink(sa.sun_path);
}

TEST(ready_reaches_an_abstract_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char got[64] = "", env[64];
	int fd;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		 "fscached-notify-%d", (int)getpid());
	fd = bind_socket(&sa, offsetof(struct sockaddr_un, sun_path) + 1 +
			      strlen(sa.sun_path + 1));
	ASSERT_GE(fd, 0);
	snprintf(env, sizeof(env), "@%s", sa.sun_path + 1);
	setenv("NOTIFY_SOCKET", env, 1);
	EXPECT_EQ(1, service_notify("READY=1"));
	EXPECT_EQ(7, recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT));
	EXPECT_STREQ("READY=1", got);
	close(fd);
}

TEST(no_socket_is_not_an_error_and_bad_ones_are)
{
	unsetenv("NOTIFY_SOCKET");
	EXPECT_EQ(0, service_notify("READY=1"));
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	EXPECT_EQ(-EINVAL, service_notify("READY=1"));
	setenv("NOTIFY_SOCKET", "/nonexistent/fscached-notify", 1);
	EXPECT_EQ(-ENOENT, service_notify("READY=1"));
	unsetenv("NOTIFY_SOCKET");
}

TEST_HARNESS_MAIN
