/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service manager's protocols (sd_notify(3), sd_listen_fds(3)): one
 * datagram of "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET,
 * and descriptors handed to a started service as fds 3.. named by
 * $LISTEN_FDNAMES. Both are small and stable, and systemd documents them
 * for reimplementation; linking libsystemd for them would cost more memory
 * than the protocols themselves.
 */
#ifndef FSCACHED_NOTIFY_H
#define FSCACHED_NOTIFY_H

/*
 * Send @state ("READY=1", "STOPPING=1", ...) if $NOTIFY_SOCKET is set.
 * Returns 1 when sent, 0 without a socket, or -errno.
 */
int service_notify(const char *state);
/* The same with @fd attached ("FDSTORE=1\nFDNAME=..."): systemd keeps it. */
int service_notify_fd(const char *state, int fd);
/*
 * The descriptor the service manager passed under @name (LISTEN_FDNAMES),
 * made close-on-exec, or -ENOENT. The LISTEN_* variables are unset.
 */
int service_listen_fd(const char *name);

#endif
