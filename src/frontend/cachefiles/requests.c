// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's requests: OPEN (resolve the blob, open its cache, copen),
 * READ (fill the range, read ahead, complete) and CLOSE, and the pool of
 * jobs that carries them to the workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/fill_group.h"
#include "cache/prefetch.h"
#include "cache/serve.h"
#include "cachefiles.h"
#include "cachefiles_msg.h"
#include "lib/compiler.h"
#include "lib/blob_id.h"
#include "image/bootstrap.h"
#include "config/config.h"
#include "device.h"
#include "cache/factory.h"
#include "lib/log.h"
#include "objects.h"
#include "space.h"
#include "uapi/cachefiles.h"
#include "lib/workqueue.h"
#include "frontend_int.h"


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

struct cf_job *cf_job_get(struct cachefiles_frontend *fe)
{
	return cf_job_take(fe, true);
}

struct cf_job *cf_job_get_nowait(struct cachefiles_frontend *fe)
{
	return cf_job_take(fe, false);
}

void cf_job_put(struct cf_job *job)
{
	struct cachefiles_frontend *fe = job->fe;

	pthread_mutex_lock(&fe->jobs_lock);
	job->next_free = fe->free_jobs;
	fe->free_jobs = job;
	pthread_cond_signal(&fe->job_freed);
	pthread_mutex_unlock(&fe->jobs_lock);
}

void cf_jobs_free(struct cachefiles_frontend *fe)
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
	struct blob_source src;
	struct blob_info info = {
		.id = job->names.blob_id,
		.domain = job->names.domain,
		.cache_fd = job->fd,
		.fetch_unit = fe->fetch_unit,
		.stage_dir = fe->cache_dir,
	};
	int ret;

	ret = fe->resolve(fe->resolve_ctx, job->names.domain,
			  job->names.blob_id, &src);
	if (ret) {
		log_warn("OPEN of blob '%s' (domain '%s'): no such blob is configured",
			 job->names.blob_id, job->names.domain);
		return ret;
	}
	if (strcmp(src.cfg->cache_type, "fscache")) {
		log_error("OPEN of blob '%s': cache type '%s' cannot serve /dev/cachefiles; use \"fscache\"",
			  job->names.blob_id, src.cfg->cache_type);
		blob_source_release(&src);
		return -EOPNOTSUPP;
	}
	info.rafs = src.is_rafs ? &src.rafs : NULL;
	info.local_bootstrap = src.local_bootstrap;
	info.chunk_digests = src.digests;
	info.nr_chunk_digests = src.nr_digests;
	info.prefetch = src.prefetch;
	info.nr_prefetch = src.nr_prefetch;
	ret = factory_new_blob_cache(fe->factory, src.cfg, &info, bc);
	blob_source_release(&src);
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
		if (c.filled)
			space_culler_wrote(&fe->space.culler);
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
	struct fill_group *group;
	unsigned int workers;
	struct cf_job *job;

	group = fill_group_readahead(obj->bc, off, len, fe->readahead,
				     fe->wq.nr_workers, CF_WORKER_BUF_SIZE,
				     &workers);
	if (!group)
		return;
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

	ret = serve_fill(obj->bc, job->off, job->len, &worker->buf,
			 &fe->space.culler, &fe->stats.no_room);
	if (ret) {
		counter_add(&fe->stats.read_errors, 1);
		log_warn("READ of blob '%s' [%llu, +%llu) failed: %s; the reader gets EIO",
			 obj->bc->id, (unsigned long long)job->off,
			 (unsigned long long)job->len, strerror(-ret));
	} else {
		counter_add(&fe->stats.reads, 1);
		counter_add(&fe->stats.read_bytes, job->len);
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

/*
 * A blob named by its digest whose cache file is whole (no hole before its
 * end) at its CLOSE, filled lazily: have its bytes checked once released.
 */
static void cf_maybe_recheck(struct cachefiles_frontend *fe,
			     struct cf_object *obj)
{
	struct blob_cache *bc = obj->bc;
	unsigned char md[32];
	off_t hole;

	/* Only a cache file that is the blob byte for byte has its digest. */
	if (!fe->recheck_started || blob_cache_validates(bc) || bc->nydus ||
	    bc->local_bootstrap || !blob_id_sha256(bc->id, md))
		return;
	/*
	 * The kernel may already have let go of the cache file behind the
	 * anonymous fd (ENOBUFS: it does not wait for the CLOSE to be read,
	 * and on several CPUs it often wins); the recheck then looks for
	 * holes in the file itself once it is linked in.
	 */
	hole = lseek(obj->fd, 0, SEEK_HOLE);
	if (hole >= 0 && (uint64_t)hole < bc->size)
		return;
	cf_recheck_queue(&fe->recheck, bc->domain, bc->id, bc->size);
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
	cf_maybe_recheck(fe, obj);
	if (fe->space_started)
		cf_space_released(&fe->space, obj->bc->domain, obj->bc->id);
	cf_object_put(obj);
}

void cf_handle_message(struct cachefiles_frontend *fe, size_t len)
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
