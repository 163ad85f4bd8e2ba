/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The records read(2) returns on a fanotify group fd, checked and decoded.
 * Plain C with no state, so that unit tests and fuzzers can feed it.
 */
#ifndef FSCACHED_FANOTIFY_EVENT_H
#define FSCACHED_FANOTIFY_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fan_event {
	uint64_t mask;
	int fd;			/* the accessed file, opened for us; -1: none */
	int pid;
	bool has_range;		/* FAN_EVENT_INFO_TYPE_RANGE was there */
	uint64_t off, count;	/* page aligned; count 0: a truncate */
};

/*
 * Decode the event at the start of @buf (@len bytes read): 0 with its
 * length in @used, which may skip unknown info records. -EINVAL: the record
 * is inconsistent and nothing after it can be trusted (@used is @len);
 * -EPROTO: another metadata version, skipped by its length.
 */
int fan_event_parse(const void *buf, size_t len, struct fan_event *ev,
		    size_t *used);

#endif
