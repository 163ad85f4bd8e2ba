/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Restarts that lose nothing. Closing the last reference to the cache
 * device fails every pending read and kills the mounts, so the device fd
 * must outlive the daemon: a holder keeps a copy (systemd's fd store, or a
 * supervisor such as nydus-snapshotter) and hands it to the next daemon,
 * which writes "restore" and serves the images the previous one had bound,
 * read back from a state file kept beside the cache.
 */
#ifndef FSCACHED_HANDOVER_H
#define FSCACHED_HANDOVER_H

#include <limits.h>

struct bindings;

/* The name of the device fd in systemd's fd store (FDNAME=). */
#define HANDOVER_FDNAME		"cachefiles"
#define HANDOVER_STATE_FILE	"fscached.state"

struct handover {
	const char *supervisor;		/* --supervisor socket, may be NULL */
	struct bindings *bindings;
	char state_path[PATH_MAX];
};

int handover_init(struct handover *h, const char *cache_dir,
		  const char *supervisor, struct bindings *bindings);
/* The device fd systemd kept for us, or -ENOENT on a first start. */
int handover_from_service_manager(void);
/*
 * Give systemd a copy of the device (or fanotify group) fd, if it runs us
 * with a fd store: > 0 when it keeps one, 0 without a service manager.
 */
int handover_to_service_manager(int dev_fd);
/* Take the device fd (and the states) from the supervisor. */
int handover_take_from_supervisor(struct handover *h, int *dev_fd);
/* Give the supervisor a copy of the device fd and our states. */
int handover_send_to_supervisor(struct handover *h, int dev_fd);
/*
 * After a takeover: bind the images the previous daemon had bound. After a
 * first start: forget them. From then on the state file follows bindings.
 */
int handover_load_state(struct handover *h, bool restored);

#endif
