// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/cachefiles on-demand front end.
 *
 * The main thread owns the ring: one READ on the device (the device has no
 * FMODE_NOWAIT, so io_uring waits for EPOLLIN itself and one read in flight
 * is enough) and one on an eventfd that stops the loop. Each message is
 * parsed here; OPEN and READ run on workers (they may wait on a backend),
 * CLOSE runs inline. Workers answer the kernel themselves.
 *
 * Ordering the kernel guarantees and we rely on: READ and CLOSE for an
 * object only come after its copen, and we insert the object into the table
 * before writing copen.
 */
#include <errno.h>
#include <json-c/json.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cachefiles.h"
#include "frontend/frontend.h"
#include "lib/compiler.h"
#include "cull.h"
#include "device.h"
#include "lib/log.h"
#include "objects.h"
#include "space.h"
#include "uapi/cachefiles.h"
#include "lib/workqueue.h"
#include "frontend_int.h"

static struct cachefiles_frontend *cf_of(struct frontend *base)
{
	return container_of(base, struct cachefiles_frontend, base);
}

static int cf_arm_read(struct cachefiles_frontend *fe, int fd, void *buf,
		       unsigned int len, enum cf_tag tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fe->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

static int cf_run(struct frontend *base)
{
	struct cachefiles_frontend *fe = cf_of(base);
	unsigned int dev_errors = 0;
	struct io_uring_cqe *cqe;
	int ret;

	ret = cf_arm_read(fe, fe->dev_fd, fe->msg, sizeof(fe->msg),
			  CF_TAG_DEV);
	if (!ret)
		ret = cf_arm_read(fe, fe->stop_fd, &fe->stop_buf,
				  sizeof(fe->stop_buf), CF_TAG_STOP);
	if (ret)
		return ret;

	while (!fe->stopping) {
		uint64_t tag;
		int res;

		ret = io_uring_submit_and_wait(&fe->ring, 1);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			log_error("io_uring wait failed: %s", strerror(-ret));
			return ret;
		}
		ret = io_uring_peek_cqe(&fe->ring, &cqe);
		if (ret)
			continue;
		tag = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&fe->ring, cqe);

		if (tag == CF_TAG_STOP) {
			fe->stopping = true;
			break;
		}
		if (res > 0) {
			dev_errors = 0;
			cf_handle_message(fe, res);
		} else if (res < 0 && res != -EINTR && res != -EAGAIN) {
			log_warn("reading %s failed: %s", CACHEFILES_DEV_PATH,
				 strerror(-res));
			if (++dev_errors >= CF_MAX_DEV_ERRORS) {
				log_error("giving up on %s after %u errors",
					  CACHEFILES_DEV_PATH, dev_errors);
				return res;
			}
		}
		/* res == 0: nothing pending (a spurious wakeup); read again. */
		ret = cf_arm_read(fe, fe->dev_fd, fe->msg, sizeof(fe->msg),
				  CF_TAG_DEV);
		if (ret)
			return ret;
	}
	return 0;
}

static void cf_stop(struct frontend *base)
{
	struct cachefiles_frontend *fe = cf_of(base);
	uint64_t one = 1;
	ssize_t n;

	n = write(fe->stop_fd, &one, sizeof(one));
	(void)n;
}

static bool cf_blob_in_use(void *ctx, const char *domain, const char *blob_id)
{
	struct cachefiles_frontend *fe = ctx;

	return object_table_has(&fe->objects, domain, blob_id);
}

static int cf_open(const struct frontend_options *opts, struct frontend **out)
{
	struct cachefiles_frontend *fe;
	int ret;

	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		if (opts->held_fd >= 0)
			close(opts->held_fd);
		return -ENOMEM;
	}
	/* From here on the held fd is ours to close. */
	fe->dev_fd = opts->held_fd;
	fe->cache_dir = strdup(opts->cache_dir);
	if (!fe->cache_dir) {
		ret = -ENOMEM;
		goto err_free;
	}
	fe->factory = opts->factory;
	fe->readahead = opts->readahead;
	fe->fetch_unit = opts->fetch_unit;
	fe->resolve = opts->resolve;
	fe->resolve_ctx = opts->resolve_ctx;
	pthread_mutex_init(&fe->jobs_lock, NULL);
	pthread_cond_init(&fe->job_freed, NULL);
	object_table_init(&fe->objects);

	fe->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fe->stop_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = io_uring_queue_init(CF_RING_ENTRIES, &fe->ring, 0);
	if (ret) {
		log_error("io_uring is not available: %s (the kernel needs CONFIG_IO_URING=y and io_uring not disabled by sysctl kernel.io_uring_disabled)",
			  strerror(-ret));
		goto err_close_stop;
	}
	fe->ring_ready = true;
	ret = workqueue_init(&fe->wq, opts->threads ? opts->threads : 1,
			     CF_WORKER_BUF_SIZE);
	if (ret)
		goto err_exit_ring;
	if (fe->dev_fd >= 0) {
		ret = cachefiles_dev_check_held(fe->dev_fd);
		if (!ret)
			ret = cachefiles_dev_restore(fe->dev_fd);
		if (ret)
			goto err_destroy_wq;
		log_info("took over the cache of %s: the kernel re-sends what the previous daemon left unanswered",
			 opts->cache_dir);
	} else {
		fe->dev_fd = cachefiles_dev_open(CACHEFILES_DEV_PATH,
						 opts->quiet_busy);
		if (fe->dev_fd < 0) {
			ret = fe->dev_fd;
			goto err_destroy_wq;
		}
		ret = cachefiles_dev_bind(fe->dev_fd, opts->cache_dir, opts->tag,
					  &opts->limits);
		if (ret)
			goto err_destroy_wq;
	}
	ret = cf_space_start(&fe->space, fe->dev_fd, fe->cache_dir,
			     &opts->limits, cf_blob_in_use, fe);
	if (ret)
		goto err_destroy_wq;
	fe->space_started = true;
	/* Without it lazily filled blobs are not checked: not fatal. */
	fe->recheck_started = !cf_recheck_start(&fe->recheck, fe->dev_fd,
						fe->cache_dir);
	fe->base.ops = &cachefiles_frontend_ops;
	*out = &fe->base;
	return 0;

err_destroy_wq:
	workqueue_destroy(&fe->wq);
err_exit_ring:
	io_uring_queue_exit(&fe->ring);
err_close_stop:
	close(fe->stop_fd);
err_free:
	if (fe->dev_fd >= 0)
		close(fe->dev_fd);
	object_table_destroy(&fe->objects);
	pthread_cond_destroy(&fe->job_freed);
	pthread_mutex_destroy(&fe->jobs_lock);
	free(fe->cache_dir);
	free(fe);
	return ret;
}

static void cf_close(struct frontend *base, bool held)
{
	struct cachefiles_frontend *fe = cf_of(base);

	(void)held;	/* the kernel keeps everything for whoever holds the device */
	/*
	 * In-flight requests complete (and so never hang a reader); queued
	 * read-ahead is dropped.
	 */
	__atomic_store_n(&fe->closing, true, __ATOMIC_RELAXED);
	if (fe->space_started)
		cf_space_stop(&fe->space);
	if (fe->recheck_started)
		cf_recheck_stop(&fe->recheck);
	workqueue_destroy(&fe->wq);
	object_table_destroy(&fe->objects);
	io_uring_queue_exit(&fe->ring);
	/*
	 * Closing the device withdraws the cache: mounts answer ENOBUFS
	 * until they are unmounted.
	 */
	close(fe->dev_fd);
	close(fe->stop_fd);
	cf_jobs_free(fe);
	pthread_cond_destroy(&fe->job_freed);
	pthread_mutex_destroy(&fe->jobs_lock);
	free(fe->cache_dir);
	free(fe);
}

static int cf_held_fd(struct frontend *base)
{
	return cf_of(base)->dev_fd;
}

/*
 * umount(2) returns before the kernel lets go of the blob: its CLOSE comes
 * a moment later, and only then does cachefiles link a new cache file in and
 * clear the in-use mark. The snapshotter DELETEs right after its unmount, so
 * a blob that is busy, or open here but not linked yet, is tried again for a
 * while; and once its last object closes, a little longer, for the link.
 */
#define CULL_GRACE_MS		2000
#define CULL_RETRY_MS		20
#define CULL_AFTER_CLOSE_TRIES	10

static int cf_cull_blob(struct frontend *base, const char *blob_id)
{
	struct cachefiles_frontend *fe = cf_of(base);
	unsigned int waited = 0, after_close = 0;
	bool was_open = false;
	int ret;

	for (;;) {
		bool open = object_table_has(&fe->objects, NULL, blob_id);

		ret = cachefiles_cull_blob(fe->dev_fd, fe->cache_dir, blob_id);
		if (ret != -EBUSY && ret != -ENOENT)
			return ret;
		if (ret == -ENOENT && !open) {
			if (!was_open || after_close++ >= CULL_AFTER_CLOSE_TRIES)
				return ret;
		}
		was_open |= open;
		if (waited >= CULL_GRACE_MS)
			return open ? -EBUSY : ret;
		sleep_ms(CULL_RETRY_MS);
		waited += CULL_RETRY_MS;
	}
}

static void cf_get_stats(struct cachefiles_frontend *fe,
			 struct cachefiles_stats *st)
{
	struct workqueue_stats wst;
	unsigned int running;

	st->opens = counter_read(&fe->stats.opens);
	st->open_errors = counter_read(&fe->stats.open_errors);
	st->read_requests = counter_read(&fe->stats.read_requests);
	st->reads = counter_read(&fe->stats.reads);
	st->read_bytes = counter_read(&fe->stats.read_bytes);
	st->read_errors = counter_read(&fe->stats.read_errors);
	st->closes = counter_read(&fe->stats.closes);
	st->readaheads = counter_read(&fe->stats.readaheads);
	st->readahead_errors = counter_read(&fe->stats.readahead_errors);
	st->bad_messages = counter_read(&fe->stats.bad_messages);
	st->objects = object_table_count(&fe->objects);
	st->no_room = counter_read(&fe->stats.no_room);
	workqueue_get_stats(&fe->wq, &wst, &running);
	st->workers = running;
	st->standins_started = wst.standins_started;
	if (fe->recheck_started) {
		struct cf_recheck_stats rc;

		cf_recheck_get_stats(&fe->recheck, &rc);
		st->rechecked = rc.checked;
		st->recheck_mismatches = rc.mismatches;
		st->recheck_culled = rc.culled;
		st->recheck_missed = rc.missed;
	}
	if (fe->space_started) {
		struct cf_space_stats sp;

		cf_space_stats(&fe->space, &sp);
		st->cull_passes = sp.passes;
		st->culled = sp.culled;
		st->culled_bytes = sp.culled_bytes;
		st->culled_volumes = sp.culled_volumes;
	}
}

static void cf_stats_json(struct frontend *base, struct json_object *obj)
{
	struct cachefiles_stats st = { 0 };

	cf_get_stats(cf_of(base), &st);
#define ADD(name) json_object_object_add(obj, #name, json_object_new_uint64(st.name))
	ADD(opens);
	ADD(open_errors);
	ADD(read_requests);
	ADD(reads);
	ADD(read_bytes);
	ADD(read_errors);
	ADD(closes);
	ADD(readaheads);
	ADD(readahead_errors);
	ADD(bad_messages);
	ADD(objects);
	ADD(no_room);
	ADD(workers);
	ADD(standins_started);
	ADD(rechecked);
	ADD(recheck_mismatches);
	ADD(recheck_culled);
	ADD(recheck_missed);
	ADD(cull_passes);
	ADD(culled);
	ADD(culled_bytes);
	ADD(culled_volumes);
#undef ADD
}

const struct frontend_ops cachefiles_frontend_ops = {
	.name = "cachefiles",
	.open = cf_open,
	.run = cf_run,
	.stop = cf_stop,
	.held_fd = cf_held_fd,
	.cull_blob = cf_cull_blob,
	.stats_json = cf_stats_json,
	.close = cf_close,
};
