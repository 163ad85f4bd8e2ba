/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The other side of a restart without loss, for kernel tests: what keeps
 * the cache device while fscached is down. ktest_fdstore plays systemd's
 * fd store (NOTIFY_SOCKET with FDSTORE=1, then LISTEN_FDS), and
 * ktest_supervisor plays nydus-snapshotter's supervisor (a unix socket that
 * listens only while it asks the daemon for its states or gives them back).
 * ktest_api speaks to the daemon's API socket.
 */
#ifndef FSCACHED_KTEST_HOLDER_H
#define FSCACHED_KTEST_HOLDER_H

#include <limits.h>
#include <stddef.h>
#include <sys/un.h>

/* The HTTP status of @method @path (with @body, may be NULL), or -errno. */
int ktest_api(const char *sock, const char *method, const char *path,
	      const char *body);
/* Poll GET /api/v1/daemon until its "state" is @state (up to @ms). */
int ktest_api_wait_state(const char *sock, const char *state, unsigned int ms);

struct ktest_fdstore {
	int sock;			/* bound at path, SOCK_DGRAM */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;				/* the stored "cachefiles" fd, or -1 */
	unsigned int stored;		/* FDSTORE=1 messages received */
	unsigned int ready;		/* READY=1 messages received */
};

int ktest_fdstore_open(struct ktest_fdstore *s, const char *dir);
/* Take in what the daemon sent; wait up to @ms for a stored fd. */
int ktest_fdstore_wait_fd(struct ktest_fdstore *s, unsigned int ms);
void ktest_fdstore_close(struct ktest_fdstore *s);

struct ktest_supervisor {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;				/* the device fd it keeps, or -1 */
	char *states;
	size_t len;
};

void ktest_supervisor_init(struct ktest_supervisor *s, const char *dir);
/* As FetchDaemonStates: listen, PUT .../fuse/sendfd on @apisock, receive. */
int ktest_supervisor_fetch(struct ktest_supervisor *s, const char *apisock);
/* As SendStatesTimeout + takeover: listen, PUT .../fuse/takeover, send. */
int ktest_supervisor_give(struct ktest_supervisor *s, const char *apisock);
void ktest_supervisor_destroy(struct ktest_supervisor *s);

#endif
