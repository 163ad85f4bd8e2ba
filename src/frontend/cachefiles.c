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
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/fill_group.h"
#include "cache/prefetch.h"
#include "cachefiles.h"
#include "cachefiles_msg.h"
#include "compiler.h"
#include "config.h"
#include "cull.h"
#include "device.h"
#include "factory.h"
#include "log.h"
#include "objects.h"
#include "space.h"
#include "uapi/cachefiles.h"
#include "workqueue.h"

/* Requests being served at once; the device read waits beyond this. */
#define CF_MAX_INFLIGHT		1024
/* Per-worker buffer: the unit of a backend read and a cache write. */
#define CF_WORKER_BUF_SIZE	(1U << 20)
#define CF_RING_ENTRIES		8
/* How long a READ that found no room waits for culling to make some. */
#define CF_ROOM_WAIT_MS		5000
/* Consecutive device read errors after which the loop gives up. */
#define CF_MAX_DEV_ERRORS	100

enum cf_tag {
	CF_TAG_DEV = 1,
	CF_TAG_STOP = 2,
};

struct cf_job {
	struct work work;
	struct cachefiles_frontend *fe;
	uint32_t msg_id;
	uint32_t object_id;
	int fd;
	uint64_t off, len;
	struct cf_object *obj;
	struct fill_group *group;	/* of a read-ahead helper */
	struct cachefiles_open_names names;
	struct cf_job *next_free;
};

struct cachefiles_frontend {
	int dev_fd;
	char *cache_dir;
	int stop_fd;
	uint64_t stop_buf;
	bool stopping;
	struct io_uring ring;
	bool ring_ready;
	struct workqueue wq;
	struct object_table objects;
	struct factory *factory;
	blob_resolve_fn resolve;
	void *resolve_ctx;

	pthread_mutex_t jobs_lock;
	pthread_cond_t job_freed;
	struct cf_job *free_jobs;
	unsigned int nr_jobs;

	uint64_t readahead;
	uint64_t fetch_unit;
	bool closing;

	struct cachefiles_stats stats;
	struct cf_space space;
	bool space_started;
	uint8_t msg[CACHEFILES_MSG_MAX_SIZE];
};

/*
 * A job from the pool. With @wait, block while all CF_MAX_INFLIGHT are in
 * use: back-pressure, the kernel queues what we do not read. Workers must
 * not wait (the waiters would be themselves).
 */
static struct cf_job *cf_job_take(struct cachefiles_frontend *fe, bool wait)
{
	struct cf_job *job = NULL;

	pthread_mutex_lock(&fe->jobs_lock);
	for (;;) {
		if (fe->free_jobs) {
			job = fe->free_jobs;
			fe->free_jobs = job->next_free;
			break;
		}
		if (fe->nr_jobs < CF_MAX_INFLIGHT) {
			job = malloc(sizeof(*job));
			if (job) {
				fe->nr_jobs++;
				break;
			}
			if (!fe->nr_jobs)
				break;
		}
		if (!wait)
			break;
		pthread_cond_wait(&fe->job_freed, &fe->jobs_lock);
	}
	pthread_mutex_unlock(&fe->jobs_lock);
	if (job) {
		memset(job, 0, offsetof(struct cf_job, names));
		job->fe = fe;
		job->fd = -1;
	}
	return job;
}

static struct cf_job *cf_job_get(struct cachefiles_frontend *fe)
{
	return cf_job_take(fe, true);
}

static struct cf_job *cf_job_get_nowait(struct cachefiles_frontend *fe)
{
	return cf_job_take(fe, false);
}

static void cf_job_put(struct cf_job *job)
{
	struct cachefiles_frontend *fe = job->fe;

	pthread_mutex_lock(&fe->jobs_lock);
	job->next_free = fe->free_jobs;
	fe->free_jobs = job;
	pthread_cond_signal(&fe->job_freed);
	pthread_mutex_unlock(&fe->jobs_lock);
}

static void cf_jobs_free(struct cachefiles_frontend *fe)
{
	struct cf_job *job;

	while ((job = fe->free_jobs)) {
		fe->free_jobs = job->next_free;
		free(job);
	}
}

/* Refuse an OPEN: answer the error and drop the fd the kernel gave us. */
static void cf_open_fail(struct cachefiles_frontend *fe, uint32_t msg_id,
			 int fd, int err)
{
	int ret;

	counter_add(&fe->stats.open_errors, 1);
	ret = cachefiles_dev_copen(fe->dev_fd, msg_id, err);
	if (ret && ret != -EINVAL)
		log_warn("copen %u,%d failed: %s", msg_id, err,
			 strerror(-ret));
	/* Never close an fd we cannot prove is the kernel's object fd. */
	if (cachefiles_anon_fd(fd))
		close(fd);
}

static int cf_resolve(struct cachefiles_frontend *fe, struct cf_job *job,
		      struct blob_cache **bc)
{
	struct fscached_config *cfg;
	struct blob_info info = {
		.id = job->names.blob_id,
		.domain = job->names.domain,
		.cache_fd = job->fd,
		.fetch_unit = fe->fetch_unit,
	};
	int ret;

	ret = fe->resolve(fe->resolve_ctx, job->names.domain,
			  job->names.blob_id, &cfg);
	if (ret) {
		log_warn("OPEN of blob '%s' (domain '%s'): no such blob is configured",
			 job->names.blob_id, job->names.domain);
		return ret;
	}
	if (strcmp(cfg->cache_type, "fscache")) {
		log_error("OPEN of blob '%s': cache type '%s' cannot serve /dev/cachefiles; use \"fscache\"",
			  job->names.blob_id, cfg->cache_type);
		config_free(cfg);
		return -EOPNOTSUPP;
	}
	ret = factory_new_blob_cache(fe->factory, cfg, &info, bc);
	config_free(cfg);
	if (ret)
		log_warn("OPEN of blob '%s' (domain '%s') failed: %s",
			 job->names.blob_id, job->names.domain,
			 ret == -ENOENT ? "not found in the backend"
					: strerror(-ret));
	return ret;
}

static void cf_open_work(struct work *work, struct worker *worker)
{
	struct cf_job *job = container_of(work, struct cf_job, work);
	struct cachefiles_frontend *fe = job->fe;
	struct cf_object *obj, *old;
	struct blob_cache *bc;
	int ret;

	(void)worker;
	ret = cf_resolve(fe, job, &bc);
	if (ret)
		goto err;
	obj = cf_object_new(job->object_id, job->fd, bc);
	if (!obj) {
		blob_cache_put(bc);
		ret = -ENOMEM;
		goto err;
	}
	object_table_insert(&fe->objects, obj, &old);
	if (old) {
		log_warn("object %u opened again without a CLOSE; dropping the old one",
			 old->object_id);
		cf_object_put(old);
	}
	ret = cachefiles_dev_copen(fe->dev_fd, job->msg_id, (int64_t)bc->size);
	if (ret) {
		/* -EINVAL: the kernel gave up on this request meanwhile. */
		if (ret != -EINVAL)
			log_warn("copen %u for blob '%s' failed: %s",
				 job->msg_id, bc->id, strerror(-ret));
		if (object_table_remove_exact(&fe->objects, obj))
			cf_object_put(obj);
		counter_add(&fe->stats.open_errors, 1);
		cf_job_put(job);
		return;
	}
	trace("OPEN msg %u object %u blob '%s' domain '%s' size %llu",
	      job->msg_id, job->object_id, job->names.blob_id,
	      job->names.domain, (unsigned long long)bc->size);
	counter_add(&fe->stats.opens, 1);
	cf_job_put(job);
	return;
err:
	cf_open_fail(fe, job->msg_id, job->fd, ret);
	cf_job_put(job);
}

/* A worker's share of a read-ahead window, behind every demand request. */
static void cf_window_work(struct work *work, struct worker *worker)
{
	struct cf_job *job = container_of(work, struct cf_job, work);
	struct cachefiles_frontend *fe = job->fe;
	struct fill_counts c;

	if (!__atomic_load_n(&fe->closing, __ATOMIC_RELAXED)) {
		c = fill_group_run(job->group, &worker->buf);
		counter_add(&fe->stats.readaheads, c.filled);
		counter_add(&fe->stats.readahead_errors, c.failed);
		cf_space_wrote(&fe->space);
	}
	fill_group_put(job->group);
	cf_job_put(job);
}

/*
 * After a demand read of [off, off + len): queue the window to fetch ahead
 * of a sequential reader, in one piece per worker (or per buffer), as
 * low-priority work. Never for a compressed image (readahead_plan() says
 * no): see blob_cache_inspect(). From a worker: never wait for a free job
 * (the waiters would be us).
 */
static void cf_window_start(struct cachefiles_frontend *fe,
			    struct cf_object *obj, uint64_t off, uint64_t len)
{
	uint64_t ra_off, ra_len;
	struct fill_group *group;
	unsigned int workers;
	struct cf_job *job;

	if (!fe->readahead ||
	    !blob_cache_readahead(obj->bc, off, len, fe->readahead, &ra_off,
				  &ra_len))
		return;
	group = fill_group_create(obj->bc, ra_off, ra_len,
				  blob_cache_piece_size(obj->bc, ra_len,
							fe->wq.nr_workers,
							CF_WORKER_BUF_SIZE));
	if (!group)
		return;
	workers = MIN(fill_group_pieces(group), fe->wq.nr_workers);
	while (workers--) {
		job = cf_job_get_nowait(fe);
		if (!job)
			break;
		fill_group_get(group);
		job->group = group;
		workqueue_queue_low(&fe->wq, &job->work, cf_window_work);
	}
	fill_group_put(group);
}

static void cf_read_work(struct work *work, struct worker *worker)
{
	struct cf_job *job = container_of(work, struct cf_job, work);
	struct cachefiles_frontend *fe = job->fe;
	struct cf_object *obj = job->obj;
	int ret;

	ret = blob_cache_fill(obj->bc, job->off, job->len, &worker->buf, 0);
	/* No room on the cache filesystem: cull unused blobs, then once more. */
	if (ret == -ENOSPC || ret == -ENOBUFS || ret == -EDQUOT) {
		counter_add(&fe->stats.no_room, 1);
		cf_space_make_room(&fe->space, CF_ROOM_WAIT_MS);
		ret = blob_cache_fill(obj->bc, job->off, job->len, &worker->buf,
				      0);
	}
	if (ret) {
		counter_add(&fe->stats.read_errors, 1);
		log_warn("READ of blob '%s' [%llu, +%llu) failed: %s; the reader gets EIO",
			 obj->bc->id, (unsigned long long)job->off,
			 (unsigned long long)job->len, strerror(-ret));
	} else {
		counter_add(&fe->stats.reads, 1);
		counter_add(&fe->stats.read_bytes, job->len);
		cf_space_wrote(&fe->space);
	}
	/*
	 * Complete even on failure: READ_COMPLETE carries no error, the
	 * kernel re-checks the range and fails the reader with EIO.
	 */
	if (ioctl(obj->fd, CACHEFILES_IOC_READ_COMPLETE, job->msg_id) &&
	    errno != EINVAL)
		log_warn("READ_COMPLETE %u of object %u failed: %s",
			 job->msg_id, obj->object_id, strerror(errno));
	trace("READ msg %u object %u [%llu, +%llu) -> %d", job->msg_id,
	      obj->object_id, (unsigned long long)job->off,
	      (unsigned long long)job->len, ret);
	if (!ret) {
		cf_window_start(fe, obj, job->off, job->len);
		/* After the first read: the image's format is known then. */
		prefetch_maybe_start(obj->bc, &fe->wq);
	}
	cf_object_put(obj);
	cf_job_put(job);
}

static void cf_handle_open(struct cachefiles_frontend *fe,
			   const struct cachefiles_req *req)
{
	struct cf_job *job;
	const char *why;
	int ret;

	job = cf_job_get(fe);
	if (!job) {
		cf_open_fail(fe, req->msg_id, req->open.fd, -ENOMEM);
		return;
	}
	ret = cachefiles_open_names(req, &job->names, &why);
	if (ret) {
		log_warn("refusing OPEN msg %u: %s", req->msg_id, why);
		cf_open_fail(fe, req->msg_id, req->open.fd, ret);
		cf_job_put(job);
		return;
	}
	job->msg_id = req->msg_id;
	job->object_id = req->object_id;
	job->fd = req->open.fd;
	workqueue_queue(&fe->wq, &job->work, cf_open_work);
}

static void cf_handle_read(struct cachefiles_frontend *fe,
			   const struct cachefiles_req *req)
{
	struct cf_object *obj;
	struct cf_job *job;

	counter_add(&fe->stats.read_requests, 1);
	obj = object_table_lookup(&fe->objects, req->object_id);
	if (!obj) {
		/* No fd to complete it on; the reader can be killed. */
		counter_add(&fe->stats.read_errors, 1);
		log_warn("READ msg %u for unknown object %u", req->msg_id,
			 req->object_id);
		return;
	}
	job = cf_job_get(fe);
	if (!job) {
		counter_add(&fe->stats.read_errors, 1);
		ioctl(obj->fd, CACHEFILES_IOC_READ_COMPLETE, req->msg_id);
		cf_object_put(obj);
		return;
	}
	job->msg_id = req->msg_id;
	job->object_id = req->object_id;
	job->off = req->read.off;
	job->len = req->read.len;
	job->obj = obj;
	workqueue_queue(&fe->wq, &job->work, cf_read_work);
}

static void cf_handle_close(struct cachefiles_frontend *fe,
			    const struct cachefiles_req *req)
{
	struct cf_object *obj;

	obj = object_table_remove(&fe->objects, req->object_id);
	if (!obj) {
		log_debug("CLOSE for unknown object %u", req->object_id);
		return;
	}
	trace("CLOSE object %u", req->object_id);
	counter_add(&fe->stats.closes, 1);
	cf_object_put(obj);
}

static void cf_handle_message(struct cachefiles_frontend *fe, size_t len)
{
	struct cachefiles_req req;
	int ret;

	ret = cachefiles_msg_parse(fe->msg, len, &req);
	if (ret) {
		counter_add(&fe->stats.bad_messages, 1);
		log_warn("malformed %s message (msg %u, %zu bytes): %s",
			 cachefiles_opcode_name(req.opcode), req.msg_id, len,
			 ret == -EOPNOTSUPP ? "unknown opcode"
					    : "inconsistent lengths");
		/* An OPEN waits for its copen: never leave it hanging. */
		if (len >= sizeof(struct cachefiles_msg) &&
		    req.opcode == CACHEFILES_OP_OPEN)
			cf_open_fail(fe, req.msg_id, req.open.fd, -EINVAL);
		return;
	}
	switch (req.opcode) {
	case CACHEFILES_OP_OPEN:
		cf_handle_open(fe, &req);
		break;
	case CACHEFILES_OP_READ:
		cf_handle_read(fe, &req);
		break;
	case CACHEFILES_OP_CLOSE:
		cf_handle_close(fe, &req);
		break;
	}
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

int cachefiles_frontend_run(struct cachefiles_frontend *fe)
{
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

void cachefiles_frontend_stop(struct cachefiles_frontend *fe)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(fe->stop_fd, &one, sizeof(one));
	(void)n;
}

static bool cf_blob_in_use(void *ctx, const char *blob_id)
{
	struct cachefiles_frontend *fe = ctx;

	return object_table_has_blob(&fe->objects, blob_id);
}

int cachefiles_frontend_open(const struct cachefiles_options *opts,
			     struct cachefiles_frontend **out)
{
	struct cachefiles_frontend *fe;
	int ret;

	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		if (opts->held_dev_fd >= 0)
			close(opts->held_dev_fd);
		return -ENOMEM;
	}
	/* From here on the held fd is ours to close. */
	fe->dev_fd = opts->held_dev_fd;
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
	*out = fe;
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

void cachefiles_frontend_close(struct cachefiles_frontend *fe)
{
	if (!fe)
		return;
	/*
	 * In-flight requests complete (and so never hang a reader); queued
	 * read-ahead is dropped.
	 */
	__atomic_store_n(&fe->closing, true, __ATOMIC_RELAXED);
	if (fe->space_started)
		cf_space_stop(&fe->space);
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

int cachefiles_frontend_device(struct cachefiles_frontend *fe)
{
	return fe->dev_fd;
}

int cachefiles_frontend_cull_blob(struct cachefiles_frontend *fe,
				  const char *blob_id)
{
	return cachefiles_cull_blob(fe->dev_fd, fe->cache_dir, blob_id);
}

void cachefiles_frontend_stats(struct cachefiles_frontend *fe,
			       struct cachefiles_stats *st)
{
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
	if (fe->space_started) {
		struct cf_space_stats sp;

		cf_space_stats(&fe->space, &sp);
		st->cull_passes = sp.passes;
		st->culled = sp.culled;
		st->culled_bytes = sp.culled_bytes;
	}
}
