/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Images bound through the API: (domain, fsid) -> the configuration that
 * serves that image's bootstrap and its data blobs (named by the device
 * tags of the bootstrap). The front end asks which configuration serves a
 * blob the kernel opens.
 */
#ifndef FSCACHED_BINDINGS_H
#define FSCACHED_BINDINGS_H

#include <pthread.h>

#include "erofs.h"
#include "list.h"

struct fscached_config;
struct json_object;

struct bindings {
	pthread_mutex_t lock;
	struct list_head list;
	unsigned int count;
};

void bindings_init(struct bindings *b);
void bindings_destroy(struct bindings *b);
/*
 * Bind @fsid in @domain, served by @cfg (taken over, also on error), with
 * the data blobs @tags. -EEXIST when that image is bound already.
 */
int bindings_add(struct bindings *b, const char *domain, const char *fsid,
		 struct fscached_config *cfg,
		 char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int nr_tags);
/* -ENOENT when it was not bound. */
int bindings_remove(struct bindings *b, const char *domain, const char *fsid);
/*
 * A copy of the configuration serving @blob_id in @domain (the caller
 * frees it), or NULL: the image bound as that fsid, else an image with
 * that data blob, else the only image of the domain when no image of it
 * names its data blobs.
 */
struct fscached_config *bindings_resolve(struct bindings *b,
					 const char *domain,
					 const char *blob_id);
/* [{"domain_id", "id", "blobs": [...], "config_id"}...] */
struct json_object *bindings_json(struct bindings *b);

#endif
