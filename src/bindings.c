// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "config.h"

struct binding {
	struct list_head node;
	char *domain;
	char *fsid;
	struct fscached_config *cfg;
	unsigned int nr_blobs;
	char (*blobs)[EROFS_DEVICE_TAG_MAX + 1];
};

void bindings_init(struct bindings *b)
{
	pthread_mutex_init(&b->lock, NULL);
	list_init(&b->list);
	b->count = 0;
}

static void binding_free(struct binding *bd)
{
	config_free(bd->cfg);
	free(bd->domain);
	free(bd->fsid);
	free(bd->blobs);
	free(bd);
}

void bindings_destroy(struct bindings *b)
{
	struct binding *bd, *n;

	list_for_each_entry_safe(bd, n, &b->list, node)
		binding_free(bd);
	list_init(&b->list);
	pthread_mutex_destroy(&b->lock);
}

/* Called with b->lock held. */
static struct binding *binding_find(struct bindings *b, const char *domain,
				    const char *fsid)
{
	struct binding *bd;

	list_for_each_entry(bd, &b->list, node)
		if (!strcmp(bd->domain, domain) && !strcmp(bd->fsid, fsid))
			return bd;
	return NULL;
}

int bindings_add(struct bindings *b, const char *domain, const char *fsid,
		 struct fscached_config *cfg,
		 char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int nr_tags)
{
	struct binding *bd = calloc(1, sizeof(*bd));
	int ret = 0;

	if (!bd) {
		config_free(cfg);
		return -ENOMEM;
	}
	bd->cfg = cfg;
	bd->domain = strdup(domain);
	bd->fsid = strdup(fsid);
	if (nr_tags) {
		bd->blobs = calloc(nr_tags, sizeof(*bd->blobs));
		if (bd->blobs)
			memcpy(bd->blobs, tags, nr_tags * sizeof(*bd->blobs));
	}
	bd->nr_blobs = nr_tags;
	if (!bd->domain || !bd->fsid || (nr_tags && !bd->blobs)) {
		binding_free(bd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&b->lock);
	if (binding_find(b, domain, fsid)) {
		ret = -EEXIST;
	} else {
		list_add_tail(&bd->node, &b->list);
		b->count++;
	}
	pthread_mutex_unlock(&b->lock);
	if (ret)
		binding_free(bd);
	return ret;
}

int bindings_remove(struct bindings *b, const char *domain, const char *fsid)
{
	struct binding *bd;

	pthread_mutex_lock(&b->lock);
	bd = binding_find(b, domain, fsid);
	if (bd) {
		list_del(&bd->node);
		b->count--;
	}
	pthread_mutex_unlock(&b->lock);
	if (!bd)
		return -ENOENT;
	binding_free(bd);
	return 0;
}

static bool binding_has_blob(const struct binding *bd, const char *blob_id)
{
	unsigned int i;

	for (i = 0; i < bd->nr_blobs; i++)
		if (!strcmp(bd->blobs[i], blob_id))
			return true;
	return false;
}

struct fscached_config *bindings_resolve(struct bindings *b,
					 const char *domain,
					 const char *blob_id)
{
	struct binding *bd, *found = NULL, *only = NULL;
	struct fscached_config *cfg = NULL;
	unsigned int in_domain = 0;
	bool tags_known = false;

	pthread_mutex_lock(&b->lock);
	list_for_each_entry(bd, &b->list, node) {
		if (strcmp(bd->domain, domain))
			continue;
		in_domain++;
		only = bd;
		tags_known |= bd->nr_blobs > 0;
		if (!strcmp(bd->fsid, blob_id) || binding_has_blob(bd, blob_id)) {
			found = bd;
			break;
		}
	}
	if (!found && in_domain == 1 && !tags_known)
		found = only;
	if (found)
		cfg = config_dup(found->cfg);
	pthread_mutex_unlock(&b->lock);
	return cfg;
}

struct json_object *bindings_json(struct bindings *b)
{
	struct json_object *arr = json_object_new_array(), *o, *blobs;
	struct binding *bd;
	unsigned int i;

	pthread_mutex_lock(&b->lock);
	list_for_each_entry(bd, &b->list, node) {
		o = json_object_new_object();
		json_object_object_add(o, "domain_id",
				       json_object_new_string(bd->domain));
		json_object_object_add(o, "id", json_object_new_string(bd->fsid));
		json_object_object_add(o, "config_id",
				       json_object_new_string(bd->cfg->id));
		json_object_object_add(o, "backend_type",
				       json_object_new_string(bd->cfg->backend_type));
		blobs = json_object_new_array();
		for (i = 0; i < bd->nr_blobs; i++)
			json_object_array_add(blobs,
					      json_object_new_string(bd->blobs[i]));
		json_object_object_add(o, "blobs", blobs);
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&b->lock);
	return arr;
}
