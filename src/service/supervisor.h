/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nydus-snapshotter's supervisor protocol (nydusd's --supervisor): the
 * supervisor listens on a unix stream socket only while it expects us, we
 * connect. To save our states we send them with the device fd attached and
 * close; to take over we read until the supervisor closes, and the device
 * fd arrives with the data. The supervisor keeps its copy of the fd.
 */
#ifndef FSCACHED_SUPERVISOR_H
#define FSCACHED_SUPERVISOR_H

#include <stddef.h>

/* States bigger than this are refused on receipt. */
#define SUPERVISOR_STATES_MAX	(4u << 20)

/* Hand @dev_fd and the @len bytes of @states (len >= 1) to the supervisor. */
int supervisor_send_states(const char *path, int dev_fd, const char *states,
			   size_t len);
/*
 * Take the device fd (*@dev_fd) and the states (*@states, NUL-terminated,
 * to free) the supervisor at @path holds. -ENODATA when it sent no fd.
 */
int supervisor_take_states(const char *path, int *dev_fd, char **states,
			   size_t *len);

#endif
