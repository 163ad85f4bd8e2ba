/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blob cache factory: one cache manager per distinct configuration (id,
 * backend type, cache type, prefetch), reused by every blob of that
 * configuration, dropped by gc() once nothing uses it. A background checker
 * refreshes each manager's statistics and collects garbage.

 */
#ifndef FSCACHED_FACTORY_H
#define FSCACHED_FACTORY_H

#include <pthread.h>
#include <stdbool.h>

#include "cache.h"
#include "lib/list.h"

struct config_update;
struct fscached_config;
struct json_object;

struct factory {
	pthread_mutex_t lock;
	struct list_head mgrs;
	unsigned int nr_mgrs;
	/* statistics of managers already dropped, so totals never go back */
	struct cache_mgr_stats retired;
	/* the checker thread */
	pthread_t checker;
	pthread_cond_t wake;
	bool checker_running;
	bool stopping;
	unsigned int interval_ms;
	unsigned long checks;
};

int factory_init(struct factory *f);
void factory_destroy(struct factory *f);

int factory_new_blob_cache(struct factory *f, const struct fscached_config *cfg,
			   const struct blob_info *info,
			   struct blob_cache **out);
/* Drops unused blob caches and managers; returns the managers dropped. */
unsigned int factory_gc(struct factory *f);
unsigned int factory_nr_mgrs(struct factory *f);

/*
 * Apply @u to the backends of the managers of configuration @id (NULL:
 * all) that take any of it; returns how many did.
 */
unsigned int factory_update_backends(struct factory *f, const char *id,
				     const struct config_update *u);

int factory_start_checker(struct factory *f, unsigned int interval_ms);
void factory_stop_checker(struct factory *f);
/* Refreshes every manager's statistics snapshot now. */
void factory_check(struct factory *f);

/*
 * {"managers": [{"id", "backend_type", "cache_type", <stats>}], "total":
 * <stats>} from the latest snapshots (call factory_check() first for fresh
 * numbers).
 */
struct json_object *factory_stats_json(struct factory *f);

#endif
