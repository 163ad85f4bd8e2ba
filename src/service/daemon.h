/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's life: attach to the cache device (bind it, or take it over
 * from a holder), serve it, answer the API and signals, stop cleanly.
 * main.c only turns the command line into struct daemon_opts.
 */
#ifndef FSCACHED_DAEMON_H
#define FSCACHED_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "image/bindings.h"
#include "image/bootstrap.h"
#include "frontend/frontend.h"
#include "cache/factory.h"
#include "handover.h"
#include "lib/log.h"

#define DAEMON_MAX_BOOTSTRAPS	64

struct daemon_opts {
	const char *cache_dir;
	const char *tag;
	const char *config_path;
	const char *blob_dir;
	const char *stats_file;
	const char *apisock;
	const char *id;
	const char *log_file;
	const char *supervisor;		/* nydusd's --supervisor */
	const char *frontend;		/* --frontend: cachefiles, fanotify, auto (NULL) */
	bool upgrade;			/* take over from the supervisor */
	unsigned int rlimit_nofile;
	unsigned int threads;
	unsigned int readahead_kb;
	unsigned int fetch_unit_kb;
	enum log_level level;
	struct cache_limits limits;	/* --cache-limits */
	const char *bootstraps[DAEMON_MAX_BOOTSTRAPS];	/* --bootstrap */
	unsigned int nr_bootstraps;
};

/* An image given with --bootstrap: mounted as fsid=<its file name>. */
struct local_image {
	char *fsid;
	char *path;
	struct bootstrap_info img;
};

struct daemon {
	struct daemon_opts opts;
	struct fscached_config *config;	/* of --config or --blob-dir, may be NULL */
	struct local_image *images;	/* --bootstrap, served by config */
	unsigned int nr_images;
	pthread_mutex_t config_lock;	/* the API may change config */
	struct factory factory;
	struct bindings bindings;
	struct handover handover;

	pthread_mutex_t lock;		/* fe, stopping, state changes */
	pthread_cond_t attached;
	struct frontend *fe;
	bool fe_held;			/* a holder keeps fe's fd for the next daemon */
	bool stopping;
	const char *state;		/* nydusd's names: INIT, READY, RUNNING, STOPPED */

	pthread_t signal_thread;
	sigset_t signals;
	struct api_server *api;
	struct api_daemon api_ops;
	uint64_t start_us;
};

/* Serve until stopped; returns the exit status. @d->opts and ->config set. */
int daemon_run(struct daemon *d);

#endif
