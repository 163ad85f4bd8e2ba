/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service manager's readiness protocol (sd_notify(3)): one datagram of
 * "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET. The
 * protocol is small and stable, and systemd documents it for reimplementation;
 * linking libsystemd for it would cost more memory than the whole protocol.
 */
#ifndef FSCACHED_NOTIFY_H
#define FSCACHED_NOTIFY_H

/*
 * Send @state ("READY=1", "STOPPING=1", ...) if $NOTIFY_SOCKET is set.
 * Returns 1 when sent, 0 without a socket, or -errno.
 */
int service_notify(const char *state);

#endif
