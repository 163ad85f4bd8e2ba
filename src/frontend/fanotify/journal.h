/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The events in flight, in a file the daemon maps: what a killed daemon
 * had read but not answered, for the next one to answer.
 *
 * Those events stay on the group's list after the daemon dies (closing an
 * event fd does not answer it), matched only by the number of that fd in
 * the dead daemon. Nobody else knows the numbers, so without this their
 * readers would wait forever. The slot of an event is its fd number: set
 * as soon as read(2) returns it, completed with the file and range, and
 * freed once the answer is written. A store to a MAP_SHARED page is in the
 * page cache at once, so a kill -9 loses none of it.
 */
#ifndef FSCACHED_FANOTIFY_JOURNAL_H
#define FSCACHED_FANOTIFY_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#define FAN_JOURNAL_FILE	"fanotify.inflight"
/* Event fds at or above this are not recorded (see fan_journal_replay()). */
#define FAN_JOURNAL_SLOTS	(1U << 16)

enum fan_slot_state {
	FAN_SLOT_FREE,
	FAN_SLOT_READ,		/* read, its file not looked up yet */
	FAN_SLOT_KNOWN,		/* dev, ino, off, len are its */
};

struct fan_slot {
	uint32_t state;		/* enum fan_slot_state, stored last */
	int32_t pid;		/* who reads (or writes) */
	uint64_t dev, ino;
	uint64_t off, len;
};

struct fan_journal_head {
	uint32_t magic;
	uint32_t version;
	uint32_t max_fd;	/* highest fd ever recorded, +1 */
	int32_t pid;		/* the daemon that records */
};

struct fan_journal {
	int fd;
	struct fan_journal_head *head;
	struct fan_slot *slots;
	uint64_t size;
};

/* Map (creating) the journal of @cache_dir; what it holds is kept. */
int fan_journal_open(struct fan_journal *j, const char *cache_dir);
void fan_journal_close(struct fan_journal *j);
/* Forget every slot (after a replay, or on a fresh start); @pid records. */
void fan_journal_reset(struct fan_journal *j, int pid);

static inline void fan_journal_read(struct fan_journal *j, int fd, int pid)
{
	if (!j->slots || fd < 0 || (unsigned int)fd >= FAN_JOURNAL_SLOTS)
		return;
	j->slots[fd].pid = pid;
	__atomic_store_n(&j->slots[fd].state, FAN_SLOT_READ, __ATOMIC_RELEASE);
	if ((uint32_t)fd + 1 > j->head->max_fd)
		j->head->max_fd = fd + 1;
}

void fan_journal_known(struct fan_journal *j, int fd, uint64_t dev,
		       uint64_t ino, uint64_t off, uint64_t len);

static inline void fan_journal_done(struct fan_journal *j, int fd)
{
	if (!j->slots || fd < 0 || (unsigned int)fd >= FAN_JOURNAL_SLOTS)
		return;
	__atomic_store_n(&j->slots[fd].state, FAN_SLOT_FREE, __ATOMIC_RELEASE);
}

#endif
