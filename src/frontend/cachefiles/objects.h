/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects the kernel has opened: object_id -> anonymous fd + blob cache.
 * An object is refcounted: the table holds one reference from OPEN to CLOSE,
 * each in-flight READ holds another, so a CLOSE that overtakes a READ never
 * closes the fd under it.
 */
#ifndef FSCACHED_OBJECTS_H
#define FSCACHED_OBJECTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/list.h"

struct blob_cache;

struct cf_object {
	uint32_t object_id;
	int fd;				/* the kernel's anonymous fd */
	struct blob_cache *bc;
	unsigned int refs;		/* atomic */
	struct list_head node;		/* in a table bucket */
};

#define OBJECT_TABLE_BUCKETS	256

struct object_table {
	pthread_mutex_t lock;
	unsigned int count;
	struct list_head buckets[OBJECT_TABLE_BUCKETS];
};

void object_table_init(struct object_table *t);
/* Drops the table's references to every object. */
void object_table_destroy(struct object_table *t);

struct cf_object *cf_object_new(uint32_t object_id, int fd,
				struct blob_cache *bc);
void cf_object_get(struct cf_object *obj);
void cf_object_put(struct cf_object *obj);

/*
 * Inserts @obj (the table takes over the caller's reference). An older
 * object with the same id is returned in @old, removed, for the caller to
 * put.
 */
void object_table_insert(struct object_table *t, struct cf_object *obj,
			 struct cf_object **old);
/* Returns the object with a new reference, or NULL. */
struct cf_object *object_table_lookup(struct object_table *t, uint32_t id);
/* Removes and returns the object (with the table's reference), or NULL. */
struct cf_object *object_table_remove(struct object_table *t, uint32_t id);
/* Removes @obj only if it is still the one in the table; true if it was. */
bool object_table_remove_exact(struct object_table *t, struct cf_object *obj);
unsigned int object_table_count(struct object_table *t);
/*
 * Whether an object is open of blob @blob_id (NULL: any) in volume
 * @domain (NULL: any).
 */
bool object_table_has(struct object_table *t, const char *domain,
		      const char *blob_id);

#endif
