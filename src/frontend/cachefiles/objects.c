// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/prefetch.h"
#include "objects.h"

static struct list_head *bucket(struct object_table *t, uint32_t id)
{
	return &t->buckets[id % OBJECT_TABLE_BUCKETS];
}

void object_table_init(struct object_table *t)
{
	unsigned int i;

	pthread_mutex_init(&t->lock, NULL);
	t->count = 0;
	for (i = 0; i < OBJECT_TABLE_BUCKETS; i++)
		list_init(&t->buckets[i]);
}

void object_table_destroy(struct object_table *t)
{
	struct cf_object *obj, *n;
	unsigned int i;

	for (i = 0; i < OBJECT_TABLE_BUCKETS; i++) {
		list_for_each_entry_safe(obj, n, &t->buckets[i], node) {
			list_del(&obj->node);
			cf_object_put(obj);
		}
	}
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

struct cf_object *cf_object_new(uint32_t object_id, int fd,
				struct blob_cache *bc)
{
	struct cf_object *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->object_id = object_id;
	obj->fd = fd;
	obj->bc = bc;
	obj->refs = 1;
	list_init(&obj->node);
	return obj;
}

void cf_object_get(struct cf_object *obj)
{
	__atomic_fetch_add(&obj->refs, 1, __ATOMIC_RELAXED);
}

void cf_object_put(struct cf_object *obj)
{
	if (__atomic_sub_fetch(&obj->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (obj->bc) {
		/* Its cache file is closed: nothing more goes into it. */
		prefetch_stop(obj->bc);
		blob_cache_put(obj->bc);
	}
	if (obj->fd >= 0)
		close(obj->fd);
	free(obj);
}

static struct cf_object *find_locked(struct object_table *t, uint32_t id)
{
	struct cf_object *obj;

	list_for_each_entry(obj, bucket(t, id), node)
		if (obj->object_id == id)
			return obj;
	return NULL;
}

void object_table_insert(struct object_table *t, struct cf_object *obj,
			 struct cf_object **old)
{
	struct cf_object *prev;

	pthread_mutex_lock(&t->lock);
	prev = find_locked(t, obj->object_id);
	if (prev) {
		list_del(&prev->node);
		t->count--;
	}
	list_add(&obj->node, bucket(t, obj->object_id));
	t->count++;
	pthread_mutex_unlock(&t->lock);
	*old = prev;
}

struct cf_object *object_table_lookup(struct object_table *t, uint32_t id)
{
	struct cf_object *obj;

	pthread_mutex_lock(&t->lock);
	obj = find_locked(t, id);
	if (obj)
		cf_object_get(obj);
	pthread_mutex_unlock(&t->lock);
	return obj;
}

struct cf_object *object_table_remove(struct object_table *t, uint32_t id)
{
	struct cf_object *obj;

	pthread_mutex_lock(&t->lock);
	obj = find_locked(t, id);
	if (obj) {
		list_del(&obj->node);
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	return obj;
}

bool object_table_remove_exact(struct object_table *t, struct cf_object *obj)
{
	bool found;

	pthread_mutex_lock(&t->lock);
	found = find_locked(t, obj->object_id) == obj;
	if (found) {
		list_del(&obj->node);
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

unsigned int object_table_count(struct object_table *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool object_table_has(struct object_table *t, const char *domain,
		      const char *blob_id)
{
	struct cf_object *obj;
	bool found = false;
	unsigned int i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < OBJECT_TABLE_BUCKETS && !found; i++)
		list_for_each_entry(obj, &t->buckets[i], node)
			if (obj->bc &&
			    (!blob_id || !strcmp(obj->bc->id, blob_id)) &&
			    (!domain || !strcmp(obj->bc->domain, domain))) {
				found = true;
				break;
			}
	pthread_mutex_unlock(&t->lock);
	return found;
}
