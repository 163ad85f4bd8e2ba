/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The front end's insides, shared by the ring loop and lifecycle
 * (cachefiles.c) and the request handlers (requests.c). Private.
 */
#ifndef FSCACHED_FRONTEND_INT_H
#define FSCACHED_FRONTEND_INT_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cachefiles.h"
#include "cachefiles_msg.h"
#include "objects.h"
#include "recheck.h"
#include "space.h"
#include "uapi/cachefiles.h"
#include "lib/workqueue.h"

struct fill_group;

/* Requests being served at once; the device read waits beyond this. */
#define CF_MAX_INFLIGHT		1024
/* Per-worker buffer: the unit of a backend read and a cache write. */
#define CF_WORKER_BUF_SIZE	(1U << 20)
#define CF_RING_ENTRIES		8
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
	struct frontend base;
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
	struct cf_recheck recheck;
	bool recheck_started;
	uint8_t msg[CACHEFILES_MSG_MAX_SIZE];
};

/* The job pool (requests.c). */
struct cf_job *cf_job_get(struct cachefiles_frontend *fe);
struct cf_job *cf_job_get_nowait(struct cachefiles_frontend *fe);
void cf_job_put(struct cf_job *job);
void cf_jobs_free(struct cachefiles_frontend *fe);
/* One message of @len bytes read into fe->msg (requests.c). */
void cf_handle_message(struct cachefiles_frontend *fe, size_t len);

#endif
