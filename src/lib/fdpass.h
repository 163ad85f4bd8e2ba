/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Passing one file descriptor with a message over a unix socket
 * (SCM_RIGHTS): how the device fd outlives a daemon, kept by systemd's fd
 * store or by a supervisor such as nydus-snapshotter.
 */
#ifndef FSCACHED_FDPASS_H
#define FSCACHED_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Send @len bytes of @data (at least one byte goes out: the descriptor
 * travels with the first) and, if @fd >= 0, @fd with them. Returns 0 or
 * -errno.
 */
int fdpass_send(int sock, const void *data, size_t len, int fd);
/*
 * One recvmsg() into @buf: returns the bytes read (0 at the end of the
 * stream) or -errno. A descriptor that came with them is stored in *@fd
 * if *@fd is still -1, else closed; extra descriptors are closed, so a
 * peer cannot fill our table.
 */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fd);

#endif
