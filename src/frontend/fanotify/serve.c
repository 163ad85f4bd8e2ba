// SPDX-License-Identifier: GPL-2.0
/*
 * Serving FAN_PRE_ACCESS: a range already in the blob file is allowed at
 * once, anything else is filled by a worker first. A reader only ever gets
 * ALLOW over bytes that are there, or EIO: never a hole (which would read
 * as zeros).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/fill_group.h"
#include "cache/prefetch.h"
#include "cache/serve.h"
#include "fanotify_int.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "uapi/fanotify_hsm.h"

struct fan_job {
	struct work work;
	struct fanotify_frontend *fe;
	struct fan_file *file;
	int fd;				/* the event's: answered, then closed */
	bool replayed;			/* @fd is a dead daemon's number */
	uint64_t off, len;
	struct fill_group *group;	/* of a read-ahead share */
};

int fan_answer(struct fanotify_frontend *fe, int fd, uint32_t response)
{
	struct fanotify_response r = { .fd = fd, .response = response };

	if (write(fe->group_fd, &r, sizeof(r)) == sizeof(r))
		return 0;
	/* ENOENT: the reader was killed meanwhile; nobody waits. */
	if (errno != ENOENT) {
		counter_add(&fe->stats.response_errors, 1);
		log_warn("answering a fanotify event failed: %s",
			 strerror(errno));
	}
	return -errno;
}

void fan_respond(struct fanotify_frontend *fe, int fd, uint32_t response)
{
	fan_answer(fe, fd, response);
	/* Answered: before the number can be another event's. */
	fan_journal_done(&fe->journal, fd);
	close(fd);
}

/*
 * The answer to @job's event. A replayed one's number is held by a
 * placeholder (state.c): closed once answered, so that it is free again.
 */
static void fan_job_answer(struct fan_job *job, uint32_t response)
{
	if (job->replayed) {
		fan_answer(job->fe, job->fd, response);
		close(job->fd);
	} else {
		fan_respond(job->fe, job->fd, response);
	}
}

static void fan_inflight_add(struct fanotify_frontend *fe, int n)
{
	pthread_mutex_lock(&fe->inflight_lock);
	fe->inflight += n;
	if (fe->inflight < FAN_MAX_INFLIGHT)
		pthread_cond_broadcast(&fe->inflight_done);
	pthread_mutex_unlock(&fe->inflight_lock);
}

static void fan_window_work(struct work *work, struct worker *worker)
{
	struct fan_job *job = container_of(work, struct fan_job, work);
	struct fanotify_frontend *fe = job->fe;
	struct fill_counts c;

	if (!__atomic_load_n(&fe->closing, __ATOMIC_RELAXED)) {
		c = fill_group_run(job->group, &worker->buf);
		counter_add(&fe->stats.readaheads, c.filled);
		counter_add(&fe->stats.readahead_errors, c.failed);
		if (c.filled)
			space_culler_wrote(&fe->space.culler);
	}
	fill_group_put(job->group);
	fan_file_put(job->file);
	free(job);
	fan_inflight_add(fe, -1);
}

/* After a read: fetch ahead of a sequential reader, as low work. */
static void fan_window_start(struct fanotify_frontend *fe, struct fan_file *f,
			     uint64_t off, uint64_t len)
{
	struct fill_group *group;
	unsigned int workers;
	struct fan_job *job;

	if (space_culler_full(&fe->space.culler))
		return;
	group = fill_group_readahead(f->bc, off, len, fe->readahead,
				     fe->wq.nr_workers, FAN_WORKER_BUF_SIZE,
				     &workers);
	if (!group)
		return;
	while (workers--) {
		job = calloc(1, sizeof(*job));
		if (!job)
			break;
		job->fe = fe;
		job->fd = -1;
		fan_file_get(f);
		job->file = f;
		fill_group_get(group);
		job->group = group;
		fan_inflight_add(fe, 1);
		workqueue_queue_low(&fe->wq, &job->work, fan_window_work);
	}
	fill_group_put(group);
}

static void fan_fill_work(struct work *work, struct worker *worker)
{
	struct fan_job *job = container_of(work, struct fan_job, work);
	struct fanotify_frontend *fe = job->fe;
	struct fan_file *f = job->file;
	int ret;

	ret = serve_fill(f->bc, job->off, job->len, &worker->buf,
			 &fe->space.culler, &fe->stats.no_room);
	if (ret) {
		counter_add(&fe->stats.fill_errors, 1);
		/* No room is said once, by space_culler_note_full(). */
		if (serve_no_room(ret))
			log_debug("read of blob '%s' [%llu, +%llu): no room; the reader gets EIO",
				  f->blob_id, (unsigned long long)job->off,
				  (unsigned long long)job->len);
		else
			log_warn("read of blob '%s' [%llu, +%llu) failed: %s; the reader gets EIO",
				 f->blob_id, (unsigned long long)job->off,
				 (unsigned long long)job->len, strerror(-ret));
		fan_job_answer(job, FAN_DENY_ERRNO(EIO));
	} else {
		counter_add(&fe->stats.fills, 1);
		counter_add(&fe->stats.fill_bytes, job->len);
		if (job->replayed)
			counter_add(&fe->stats.replayed, 1);
		fan_job_answer(job, FAN_ALLOW);
		fan_window_start(fe, f, job->off, job->len);
		/* After the first read: the image's format is known then. */
		prefetch_maybe_start(f->bc, &fe->wq);
	}
	trace("fanotify blob '%s' [%llu, +%llu) -> %d", f->blob_id,
	      (unsigned long long)job->off, (unsigned long long)job->len, ret);
	fan_file_put(f);
	free(job);
	fan_inflight_add(fe, -1);
}

void fan_serve_event(struct fanotify_frontend *fe, const struct fan_event *ev)
{
	struct fan_file *f;
	struct fan_job *job;
	uint64_t off, end;

	counter_add(&fe->stats.events, 1);
	/*
	 * Our own fills after a takeover write through fds opened after the
	 * mark, which raise events: nothing to wait for.
	 */
	if (ev->pid == fe->self) {
		counter_add(&fe->stats.own_events, 1);
		fan_respond(fe, ev->fd, FAN_ALLOW);
		return;
	}
	f = fan_files_lookup_fd(&fe->files, ev->fd);
	if (!f) {
		counter_add(&fe->stats.unknown_files, 1);
		log_warn("FAN_PRE_ACCESS by pid %d on a file that is no blob file of ours: EIO",
			 ev->pid);
		fan_respond(fe, ev->fd, FAN_DENY_ERRNO(EIO));
		return;
	}
	/* Nothing but our own sizing (before the mark) may truncate a blob. */
	if (ev->has_range && !ev->count) {
		counter_add(&fe->stats.denied_truncates, 1);
		log_warn("pid %d tried to truncate blob file %s: denied",
			 ev->pid, f->path);
		fan_respond(fe, ev->fd, FAN_DENY);
		fan_file_put(f);
		return;
	}
	/* No range (a hook without a position): the whole blob. */
	off = ev->has_range ? ev->off : 0;
	end = ev->has_range ? ev->off + ev->count : f->bc->size;
	if (end < off || end > f->bc->size)
		end = f->bc->size;
	if (off >= end || blob_cache_present(f->bc, off, end - off)) {
		counter_add(&fe->stats.present, 1);
		fan_respond(fe, ev->fd, FAN_ALLOW);
		/*
		 * A reader inside our read-ahead: the next window starts
		 * now, before it reaches a hole and waits for a demand fill.
		 */
		if (off < end)
			fan_window_start(fe, f, off, end - off);
		fan_file_put(f);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		counter_add(&fe->stats.fill_errors, 1);
		fan_respond(fe, ev->fd, FAN_DENY_ERRNO(EIO));
		fan_file_put(f);
		return;
	}
	job->fe = fe;
	job->file = f;
	job->fd = ev->fd;
	job->off = off;
	job->len = end - off;
	fan_journal_known(&fe->journal, ev->fd, f->dev, f->ino, off, end - off);
	fan_inflight_add(fe, 1);
	workqueue_queue(&fe->wq, &job->work, fan_fill_work);
}

/* Fill a replayed event's range, then answer its old number. */
static void fan_replay_one(struct fanotify_frontend *fe,
			   const struct fan_replay *r)
{
	struct fan_file *f = fan_files_lookup(&fe->files, r->slot.dev,
					      r->slot.ino);
	struct fan_job *job;

	job = f ? calloc(1, sizeof(*job)) : NULL;
	if (!job) {
		counter_add(&fe->stats.replay_denied, 1);
		fan_answer(fe, r->fd, FAN_DENY_ERRNO(EIO));
		close(r->fd);
		if (f)
			fan_file_put(f);
		return;
	}
	log_debug("fanotify: replaying event fd %d of blob '%s' [%llu, +%llu)",
		  r->fd, f->blob_id, (unsigned long long)r->slot.off,
		  (unsigned long long)r->slot.len);
	job->fe = fe;
	job->file = f;
	job->fd = r->fd;
	job->replayed = true;
	job->off = r->slot.off;
	job->len = r->slot.len;
	if (job->off + job->len > f->bc->size || job->off + job->len < job->off)
		job->len = job->off < f->bc->size ? f->bc->size - job->off : 0;
	fan_inflight_add(fe, 1);
	workqueue_queue(&fe->wq, &job->work, fan_fill_work);
}

void fan_replay_start(struct fanotify_frontend *fe)
{
	unsigned int i;

	for (i = 0; i < fe->nr_replay; i++)
		fan_replay_one(fe, &fe->replay[i]);
	if (fe->nr_replay)
		log_info("fanotify: answering %u event%s the previous daemon had read",
			 fe->nr_replay, fe->nr_replay == 1 ? "" : "s");
	free(fe->replay);
	fe->replay = NULL;
	fe->nr_replay = 0;
}
