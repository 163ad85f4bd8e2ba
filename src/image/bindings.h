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

#include "bootstrap.h"
#include "format/erofs.h"
#include "lib/list.h"

struct config_update;
struct fscached_config;
struct json_object;

struct bindings {
	pthread_mutex_t lock;
	struct list_head list;
	unsigned int count;
	char *state_path;		/* kept up to date, may be NULL */
};

#define BINDINGS_STATE_VERSION	1
/* The data blobs one image may name. */
#define BINDINGS_MAX_BLOBS	256

void bindings_init(struct bindings *b);
void bindings_destroy(struct bindings *b);
/*
 * Bind @fsid in @domain, served by @cfg (taken over, also on error), with
 * the data blobs @tags; the bootstrap (@fsid itself) from the local file
 * @metadata_path when given. -EEXIST when that image is bound already.
 */
int bindings_add(struct bindings *b, const char *domain, const char *fsid,
		 const char *metadata_path, struct fscached_config *cfg,
		 char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int nr_tags);
/*
 * The same with what bootstrap_read() found (@bi taken over, also on
 * error): a RAFS image's data blobs are then served through their chunk
 * maps. -EXDEV when another image of the domain lays out one of its data
 * blobs otherwise (a blob is one cache file for the whole domain).
 */
int bindings_add_image(struct bindings *b, const char *domain,
		       const char *fsid, const char *metadata_path,
		       struct fscached_config *cfg, struct bootstrap_info *bi);
/* -ENOENT when it was not bound. */
int bindings_remove(struct bindings *b, const char *domain, const char *fsid);
/* Every image of @domain: how many, or -ENOENT when none was bound. */
int bindings_remove_domain(struct bindings *b, const char *domain);
/*
 * A copy of the configuration serving @blob_id in @domain (the caller
 * frees it), or NULL: the image bound as that fsid (from its
 * metadata_path, if it has one), else an image with that data blob, else
 * the only image of the domain when no image of it names its data blobs.
 */
struct fscached_config *bindings_resolve(struct bindings *b,
					 const char *domain,
					 const char *blob_id);
/*
 * The same, with how the blob is laid out: 0 and @src filled (the caller
 * releases it), or -ENOENT, -ENOMEM.
 */
int bindings_resolve_source(struct bindings *b, const char *domain,
			    const char *blob_id, struct blob_source *src);
/*
 * Apply @u to the configurations of bound images with id @id (NULL: all)
 * that take any of it, for the blobs opened from now on; returns how many.
 */
unsigned int bindings_update_configs(struct bindings *b, const char *id,
				     const struct config_update *u);
/* [{"domain_id", "id", "blobs": [...], "config_id"}...] */
struct json_object *bindings_json(struct bindings *b);

/*
 * What a restarted daemon needs to serve the same images:
 * {"fscached_state": 1, "images": [{"domain_id", "id", "blobs", "config"}]}
 * with each whole configuration (credentials included).
 */
struct json_object *bindings_state(struct bindings *b);
/* Keep @path (0600) equal to bindings_state() after every change. */
int bindings_persist_to(struct bindings *b, const char *path);
/*
 * Bind the images of a bindings_state() document; returns how many, or
 * -errno with the reason in @err (what was bound before stays bound).
 */
int bindings_load_state(struct bindings *b, struct json_object *state,
			char *err, size_t errlen);

#endif
