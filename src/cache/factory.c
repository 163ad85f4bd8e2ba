// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cache_int.h"
#include "config/config.h"
#include "factory.h"
#include "lib/log.h"

int factory_init(struct factory *f)
{
	pthread_condattr_t attr;

	memset(f, 0, sizeof(*f));
	list_init(&f->mgrs);
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->wake, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

void factory_destroy(struct factory *f)
{
	struct cache_mgr *mgr, *n;

	factory_stop_checker(f);
	list_for_each_entry_safe(mgr, n, &f->mgrs, node) {
		list_del(&mgr->node);
		cache_mgr_destroy(mgr);
	}
	f->nr_mgrs = 0;
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
}

/* Called with f->lock held. */
static struct cache_mgr *factory_find_mgr(struct factory *f,
					  const struct fscached_config *cfg)
{
	struct cache_mgr *mgr;

	list_for_each_entry(mgr, &f->mgrs, node)
		if (config_same_manager(mgr->config, cfg))
			return mgr;
	return NULL;
}

int factory_new_blob_cache(struct factory *f, const struct fscached_config *cfg,
			   const struct blob_info *info,
			   struct blob_cache **out)
{
	struct cache_mgr *mgr;
	int ret;

	/*
	 * The manager is pinned (opening) so that gc() cannot drop it while
	 * the blob opens, without the factory lock: a remote open can take
	 * a whole timeout, and must not hold up the others or the checker.
	 */
	pthread_mutex_lock(&f->lock);
	mgr = factory_find_mgr(f, cfg);
	if (!mgr) {
		ret = cache_mgr_create(cfg, &mgr);
		if (ret) {
			pthread_mutex_unlock(&f->lock);
			return ret;
		}
		list_add_tail(&mgr->node, &f->mgrs);
		f->nr_mgrs++;
		log_debug("new cache manager for config '%s' (%s, %s)",
			  cfg->id, cfg->backend_type, cfg->cache_type);
	}
	mgr->opening++;
	pthread_mutex_unlock(&f->lock);
	ret = cache_mgr_get_blob(mgr, info, out);
	pthread_mutex_lock(&f->lock);
	mgr->opening--;
	pthread_mutex_unlock(&f->lock);
	return ret;
}

unsigned int factory_gc(struct factory *f)
{
	struct cache_mgr *mgr, *n;
	struct list_head dead;
	unsigned int dropped = 0;

	list_init(&dead);
	pthread_mutex_lock(&f->lock);
	list_for_each_entry_safe(mgr, n, &f->mgrs, node) {
		struct cache_mgr_stats last;

		if (mgr->opening || cache_mgr_gc(mgr))
			continue;
		cache_mgr_collect_stats(mgr, &last);
		cache_mgr_stats_add(&f->retired, &last);
		list_del(&mgr->node);
		list_add_tail(&mgr->node, &dead);
		f->nr_mgrs--;
		dropped++;
	}
	pthread_mutex_unlock(&f->lock);

	list_for_each_entry_safe(mgr, n, &dead, node) {
		log_debug("dropping unused cache manager for config '%s'",
			  mgr->config->id);
		cache_mgr_destroy(mgr);
	}
	return dropped;
}

unsigned int factory_nr_mgrs(struct factory *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->nr_mgrs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void factory_check(struct factory *f)
{
	struct cache_mgr *mgr;

	pthread_mutex_lock(&f->lock);
	list_for_each_entry(mgr, &f->mgrs, node)
		cache_mgr_collect_stats(mgr, &mgr->snapshot);
	f->checks++;
	pthread_mutex_unlock(&f->lock);
}

static void *factory_checker(void *arg)
{
	struct factory *f = arg;
	struct timespec deadline;

	pthread_mutex_lock(&f->lock);
	while (!f->stopping) {
		timespec_in_us(CLOCK_MONOTONIC, f->interval_ms * 1000ULL,
			       &deadline);
		pthread_cond_timedwait(&f->wake, &f->lock, &deadline);
		if (f->stopping)
			break;
		pthread_mutex_unlock(&f->lock);
		factory_gc(f);
		factory_check(f);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int factory_start_checker(struct factory *f, unsigned int interval_ms)
{
	int ret;

	if (!interval_ms)
		return -EINVAL;
	f->interval_ms = interval_ms;
	f->stopping = false;
	ret = pthread_create(&f->checker, NULL, factory_checker, f);
	if (ret)
		return -ret;
	f->checker_running = true;
	return 0;
}

void factory_stop_checker(struct factory *f)
{
	if (!f->checker_running)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->checker, NULL);
	f->checker_running = false;
}

struct json_object *factory_stats_json(struct factory *f)
{
	struct json_object *root, *arr, *o;
	struct cache_mgr_stats total;
	struct cache_mgr *mgr;

	root = json_object_new_object();
	arr = json_object_new_array();
	if (!root || !arr)
		goto err;
	pthread_mutex_lock(&f->lock);
	total = f->retired;
	total.blobs = 0;
	list_for_each_entry(mgr, &f->mgrs, node) {
		o = cache_mgr_stats_json(&mgr->snapshot);
		if (!o)
			continue;
		json_object_object_add(o, "id",
				       json_object_new_string(mgr->config->id));
		json_object_object_add(o, "backend_type",
				       json_object_new_string(mgr->config->backend_type));
		json_object_object_add(o, "cache_type",
				       json_object_new_string(mgr->config->cache_type));
		json_object_array_add(arr, o);
		cache_mgr_stats_add(&total, &mgr->snapshot);
	}
	pthread_mutex_unlock(&f->lock);
	json_object_object_add(root, "managers", arr);
	json_object_object_add(root, "total", cache_mgr_stats_json(&total));
	return root;
err:
	json_object_put(arr);
	json_object_put(root);
	return NULL;
}

unsigned int factory_update_backends(struct factory *f, const char *id,
				     const struct config_update *u)
{
	struct json_object *patch;
	struct cache_mgr *mgr;
	unsigned int n = 0;
	int ret;

	pthread_mutex_lock(&f->lock);
	list_for_each_entry(mgr, &f->mgrs, node) {
		patch = config_apply_update(mgr->config, id, u);
		if (!patch)
			continue;
		ret = backend_update(mgr->backend, patch);
		if (ret && ret != -EOPNOTSUPP)
			log_warn("cannot update the %s backend of '%s': %s",
				 mgr->config->backend_type, mgr->config->id,
				 strerror(-ret));
		json_object_put(patch);
		n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}
