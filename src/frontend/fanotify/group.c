// SPDX-License-Identifier: GPL-2.0
/*
 * The fanotify front end: one FAN_CLASS_PRE_CONTENT group with an unlimited
 * queue, read on the main thread. Each FAN_PRE_ACCESS event is a read (or
 * write) of a marked blob file that waits for our answer (serve.c).
 *
 * The interface fails open: when the group's last fd closes, every pending
 * event is allowed and readers see holes as zeros. So an orderly stop
 * unmounts first (mount.c), and nothing here closes the group while a
 * mount of ours still stands, except a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cache/nydus.h"
#include "fanotify_int.h"
#include "lib/blob_id.h"
#include "lib/compiler.h"
#include "lib/fs_type.h"
#include "lib/log.h"
#include "uapi/fanotify_hsm.h"

static void fan_handle(struct fanotify_frontend *fe, const struct fan_event *ev)
{
	if (ev->mask & FAN_Q_OVERFLOW) {
		/* Cannot happen with FAN_UNLIMITED_QUEUE; the kernel allowed it. */
		counter_add(&fe->stats.overflows, 1);
		log_error("the fanotify queue overflowed: a reader may have read holes as zeros");
	}
	if (ev->fd < 0)
		return;
	if (!(ev->mask & FAN_PRE_ACCESS)) {
		counter_add(&fe->stats.bad_events, 1);
		fan_respond(fe, ev->fd, FAN_DENY_ERRNO(EIO));
		return;
	}
	fan_serve_event(fe, ev);
}

/*
 * Every event of one read(2): @len bytes in fe->buf. First each fd goes
 * into the journal, so that a kill from here on leaves its number for the
 * next daemon; then they are served.
 */
static void fan_handle_buf(struct fanotify_frontend *fe, size_t len)
{
	const unsigned char *p = fe->buf;
	struct fan_event ev;
	size_t used, left;
	int ret;

	for (left = len; left; left -= used, p += used)
		if (!fan_event_parse(p, left, &ev, &used))
			fan_journal_read(&fe->journal, ev.fd, ev.pid);
	p = fe->buf;
	while (len) {
		ret = fan_event_parse(p, len, &ev, &used);
		if (ret) {
			counter_add(&fe->stats.bad_events, 1);
			log_warn("malformed fanotify event (%zu bytes): %s",
				 used, ret == -EPROTO ? "another metadata version"
						      : "inconsistent lengths");
		} else {
			fan_handle(fe, &ev);
		}
		p += used;
		len -= used;
	}
}

/* Back-pressure: the kernel queues what we do not read. */
static void fan_wait_room(struct fanotify_frontend *fe)
{
	pthread_mutex_lock(&fe->inflight_lock);
	while (fe->inflight >= FAN_MAX_INFLIGHT)
		pthread_cond_wait(&fe->inflight_done, &fe->inflight_lock);
	pthread_mutex_unlock(&fe->inflight_lock);
}

static int fan_run(struct frontend *base)
{
	struct fanotify_frontend *fe = fan_of(base);
	struct pollfd pfd[2] = {
		{ .fd = fe->group_fd, .events = POLLIN },
		{ .fd = fe->stop_fd, .events = POLLIN },
	};
	ssize_t n;

	fan_replay_start(fe);
	while (!fe->stopping) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll on the fanotify group failed: %s",
				  strerror(errno));
			return -errno;
		}
		if (pfd[1].revents)
			break;
		for (;;) {
			fan_wait_room(fe);
			n = read(fe->group_fd, fe->buf, FAN_READ_BUF_SIZE);
			if (n <= 0)
				break;
			fan_handle_buf(fe, (size_t)n);
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			log_error("reading the fanotify group failed: %s",
				  strerror(errno));
			return -errno;
		}
	}
	fe->stopping = true;
	return 0;
}

static void fan_stop(struct frontend *base)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(fan_of(base)->stop_fd, &one, sizeof(one));
	(void)n;
}

/*
 * Whether blob files in @dir can be marked: mark a probe file there. This
 * is where an old kernel (no FAN_PRE_ACCESS: EINVAL) or a filesystem
 * without pre-content support (EOPNOTSUPP) shows, with what to do.
 */
static int fan_probe_dir(struct fanotify_frontend *fe)
{
	char path[4096];
	struct statfs sfs;
	const char *fs;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/.probe-%d", fe->blob_dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		log_error("cannot create files in %s: %s", fe->blob_dir,
			  strerror(errno));
		return ret;
	}
	if (fanotify_mark(fe->group_fd, FAN_MARK_ADD, FAN_PRE_ACCESS, fd,
			  NULL)) {
		ret = -errno;
		fs = statfs(fe->blob_dir, &sfs) ? NULL :
		     fs_type_name((unsigned long)sfs.f_type);
		/* ret, not errno: statfs() may have changed errno. */
		if (ret == -EINVAL)
			log_error("the kernel has no fanotify pre-content events (FAN_PRE_ACCESS): it needs Linux 6.14+ with CONFIG_FANOTIFY_ACCESS_PERMISSIONS=y; use --frontend cachefiles on a kernel with on-demand mode");
		else if (ret == -EOPNOTSUPP || ret == -EXDEV)
			log_error("cannot mark files in %s: it is on %s, and fanotify pre-content marks work only on ext4, xfs and btrfs: put the cache directory (--fscache) on one of those",
				  fe->cache_dir, fs ? fs : "a filesystem");
		else
			log_error("cannot mark files in %s for FAN_PRE_ACCESS: %s",
				  fe->blob_dir, strerror(-ret));
	} else {
		fanotify_mark(fe->group_fd, FAN_MARK_REMOVE, FAN_PRE_ACCESS, fd,
			      NULL);
	}
	close(fd);
	unlink(path);
	return ret;
}

static int fan_init_group(struct fanotify_frontend *fe)
{
	fe->group_fd = fanotify_init(FAN_CLASS_PRE_CONTENT | FAN_UNLIMITED_QUEUE |
				     FAN_CLOEXEC | FAN_NONBLOCK,
				     O_RDWR | O_LARGEFILE | O_CLOEXEC);
	if (fe->group_fd >= 0)
		return 0;
	if (errno == EPERM)
		log_error("fanotify_init: %s: the fanotify front end needs root (CAP_SYS_ADMIN)",
			  strerror(errno));
	else if (errno == ENOSYS)
		log_error("fanotify_init: %s: the kernel has no fanotify (CONFIG_FANOTIFY)",
			  strerror(errno));
	else
		log_error("fanotify_init (pre-content class, unlimited queue): %s",
			  strerror(errno));
	return -errno;
}

static void fan_free(struct fanotify_frontend *fe)
{
	fan_journal_close(&fe->journal);
	free(fe->replay);
	free(fe->state_path);
	if (fe->group_fd >= 0)
		close(fe->group_fd);
	if (fe->stop_fd >= 0)
		close(fe->stop_fd);
	pthread_mutex_destroy(&fe->inflight_lock);
	pthread_cond_destroy(&fe->inflight_done);
	pthread_mutex_destroy(&fe->mounts_lock);
	pthread_cond_destroy(&fe->opened);
	free(fe->buf);
	free(fe->blob_dir);
	free(fe->cache_dir);
	free(fe);
}

static int fan_open(const struct frontend_options *opts, struct frontend **out)
{
	struct fanotify_frontend *fe;
	int ret;

	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		if (opts->held_fd >= 0)
			close(opts->held_fd);
		return -ENOMEM;
	}
	fe->base.ops = &fanotify_frontend_ops;
	/* From here on a held fd is ours to close. */
	fe->group_fd = opts->held_fd;
	fe->self = getpid();
	fe->journal.fd = -1;
	fe->stop_fd = -1;
	fe->factory = opts->factory;
	fe->readahead = opts->readahead;
	fe->fetch_unit = opts->fetch_unit;
	pthread_mutex_init(&fe->inflight_lock, NULL);
	pthread_cond_init(&fe->inflight_done, NULL);
	pthread_mutex_init(&fe->mounts_lock, NULL);
	pthread_cond_init(&fe->opened, NULL);
	list_init(&fe->mounts);
	list_init(&fe->pending);
	list_init(&fe->opening);
	fe->cache_dir = strdup(opts->cache_dir);
	fe->buf = malloc(FAN_READ_BUF_SIZE);
	if (!fe->cache_dir || !fe->buf ||
	    asprintf(&fe->blob_dir, "%s/%s", opts->cache_dir,
		     FAN_BLOB_SUBDIR) < 0) {
		fe->blob_dir = NULL;
		ret = -ENOMEM;
		goto err;
	}
	if (asprintf(&fe->state_path, "%s/%s", opts->cache_dir,
		     FAN_STATE_FILE) < 0) {
		fe->state_path = NULL;
		ret = -ENOMEM;
		goto err;
	}
	if ((mkdir(fe->cache_dir, 0700) && errno != EEXIST) ||
	    (mkdir(fe->blob_dir, 0700) && errno != EEXIST)) {
		ret = -errno;
		log_error("cannot create cache directory %s: %s", fe->blob_dir,
			  strerror(errno));
		goto err;
	}
	fe->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fe->stop_fd < 0) {
		ret = -errno;
		goto err;
	}
	/*
	 * Supervised, with mounts of a stopped daemon still standing: the
	 * supervisor holds their group, and a new group would leave their
	 * readers waiting. The caller waits for the takeover.
	 */
	if (fe->group_fd < 0 && opts->quiet_busy &&
	    fan_state_has_live_mounts(fe)) {
		ret = -EBUSY;
		goto err;
	}
	if (fe->group_fd < 0) {
		ret = fan_init_group(fe);
		if (ret)
			goto err;
	} else if (fcntl(fe->group_fd, F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		goto err;
	}
	ret = fan_probe_dir(fe);
	if (ret)
		goto err;
	ret = workqueue_init(&fe->wq, opts->threads ? opts->threads : 1,
			     FAN_WORKER_BUF_SIZE);
	if (ret)
		goto err;
	fan_files_init(&fe->files);
	ret = fan_space_start(fe, &opts->limits);
	if (ret) {
		workqueue_destroy(&fe->wq);
		fan_files_destroy(&fe->files);
		goto err;
	}
	/* Without it a kill -9 leaves its readers waiting: not fatal. */
	fan_journal_open(&fe->journal, fe->cache_dir);
	if (opts->held_fd >= 0) {
		/* The mounts first: the replayed events are on their files. */
		fan_state_restore(fe);
		fan_takeover_events(fe);
		log_info("took over the fanotify group of a previous daemon: %u mount%s, %u event%s it had read to answer",
			 fe->nr_mounts, fe->nr_mounts == 1 ? "" : "s",
			 fe->nr_replay, fe->nr_replay == 1 ? "" : "s");
	} else {
		fan_journal_reset(&fe->journal, fe->self);
		/* A fresh group: the mounts of an older one are not ours. */
		unlink(fe->state_path);
		log_info("fanotify: pre-content group ready, blob files in %s",
			 fe->blob_dir);
	}
	*out = &fe->base;
	return 0;
err:
	fan_free(fe);
	return ret;
}

static void fan_close(struct frontend *base, bool held)
{
	struct fanotify_frontend *fe = fan_of(base);

	__atomic_store_n(&fe->closing, true, __ATOMIC_RELAXED);
	/*
	 * A holder keeps the group: the mounts wait for the next daemon.
	 * Else the group goes with us, and a mount left standing would read
	 * zeros: unmount first.
	 */
	if (held)
		fan_mounts_forget(fe);
	else
		fan_umount_all(fe);
	fan_space_stop(fe);
	workqueue_destroy(&fe->wq);
	fan_files_destroy(&fe->files);
	fan_free(fe);
}

static int fan_held_fd(struct frontend *base)
{
	return fan_of(base)->group_fd;
}

/*
 * Remove an unmounted blob's file and what the engine keeps beside it
 * (nydus blob meta): 1, -ENOENT for none, -EBUSY while a mount has it.
 */
static int fan_cull_blob(struct frontend *base, const char *blob_id)
{
	struct fanotify_frontend *fe = fan_of(base);
	int ret;

	if (!blob_id_valid(blob_id, strlen(blob_id)))
		return -EINVAL;
	pthread_mutex_lock(&fe->mounts_lock);
	ret = fan_blob_remove_locked(fe, blob_id);
	pthread_mutex_unlock(&fe->mounts_lock);
	return ret;
}

static void fan_stats_json(struct frontend *base, struct json_object *obj)
{
	struct fanotify_frontend *fe = fan_of(base);
	struct workqueue_stats wst;
	unsigned int running;

#define ADD(name) json_object_object_add(obj, #name,			\
		json_object_new_uint64(counter_read(&fe->stats.name)))
	ADD(events);
	ADD(present);
	ADD(fills);
	ADD(fill_bytes);
	ADD(fill_errors);
	ADD(unknown_files);
	ADD(denied_truncates);
	ADD(bad_events);
	ADD(overflows);
	ADD(readaheads);
	ADD(readahead_errors);
	ADD(response_errors);
	ADD(mounts);
	ADD(mount_errors);
	ADD(umounts);
	ADD(no_room);
	ADD(own_events);
	ADD(replayed);
	ADD(replay_denied);
#undef ADD
	json_object_object_add(obj, "cull_passes",
			       json_object_new_uint64(counter_read(&fe->space.stats.passes)));
	json_object_object_add(obj, "culled",
			       json_object_new_uint64(counter_read(&fe->space.stats.culled)));
	json_object_object_add(obj, "culled_bytes",
			       json_object_new_uint64(counter_read(&fe->space.stats.culled_bytes)));
	json_object_object_add(obj, "blob_files",
			       json_object_new_uint64(fan_files_count(&fe->files)));
	workqueue_get_stats(&fe->wq, &wst, &running);
	json_object_object_add(obj, "workers", json_object_new_uint64(running));
	json_object_object_add(obj, "standins_started",
			       json_object_new_uint64(wst.standins_started));
}

const struct frontend_ops fanotify_frontend_ops = {
	.name = "fanotify",
	.open = fan_open,
	.run = fan_run,
	.stop = fan_stop,
	.held_fd = fan_held_fd,
	.cull_blob = fan_cull_blob,
	.mount = fan_mount,
	.umount = fan_umount,
	.mounts_json = fan_mounts_json,
	.stats_json = fan_stats_json,
	.close = fan_close,
};
