// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "lib/log.h"

#define FAN_JOURNAL_MAGIC	0x464e4a31	/* "FNJ1" */
#define FAN_JOURNAL_VERSION	1

int fan_journal_open(struct fan_journal *j, const char *cache_dir)
{
	uint64_t size = sizeof(struct fan_journal_head) +
			(uint64_t)FAN_JOURNAL_SLOTS * sizeof(struct fan_slot);
	char path[4096];
	struct stat st;
	void *map;
	int ret;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	snprintf(path, sizeof(path), "%s/%s", cache_dir, FAN_JOURNAL_FILE);
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0 || fstat(j->fd, &st)) {
		ret = -errno;
		goto err;
	}
	/* Sparse: only the pages of fds in use ever take space. */
	if ((uint64_t)st.st_size != size && ftruncate(j->fd, (off_t)size)) {
		ret = -errno;
		goto err;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	j->size = size;
	j->head = map;
	j->slots = (struct fan_slot *)(j->head + 1);
	if (j->head->magic != FAN_JOURNAL_MAGIC ||
	    j->head->version != FAN_JOURNAL_VERSION ||
	    j->head->max_fd > FAN_JOURNAL_SLOTS) {
		fan_journal_reset(j, 0);
		j->head->magic = FAN_JOURNAL_MAGIC;
		j->head->version = FAN_JOURNAL_VERSION;
	}
	return 0;
err:
	log_warn("cannot keep the events in flight in %s: %s; a killed daemon's unanswered readers would then wait until killed",
		 path, strerror(-ret));
	fan_journal_close(j);
	return ret;
}

void fan_journal_close(struct fan_journal *j)
{
	if (j->head)
		munmap(j->head, j->size);
	if (j->fd >= 0)
		close(j->fd);
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}

void fan_journal_reset(struct fan_journal *j, int pid)
{
	if (!j->head)
		return;
	/* Punch the slots back to holes rather than writing zeros over them. */
	if (fallocate(j->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      0, (off_t)j->size))
		memset(j->slots, 0, (size_t)j->head->max_fd * sizeof(*j->slots));
	j->head->magic = FAN_JOURNAL_MAGIC;
	j->head->version = FAN_JOURNAL_VERSION;
	j->head->max_fd = 0;
	j->head->pid = pid;
}

void fan_journal_known(struct fan_journal *j, int fd, uint64_t dev,
		       uint64_t ino, uint64_t off, uint64_t len)
{
	struct fan_slot *s;

	if (!j->slots || fd < 0 || (unsigned int)fd >= FAN_JOURNAL_SLOTS)
		return;
	s = &j->slots[fd];
	s->dev = dev;
	s->ino = ino;
	s->off = off;
	s->len = len;
	__atomic_store_n(&s->state, FAN_SLOT_KNOWN, __ATOMIC_RELEASE);
}
