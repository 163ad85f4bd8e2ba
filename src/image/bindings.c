// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bindings.h"
#include "config/config.h"
#include "lib/log.h"

struct binding {
	struct list_head node;
	char *domain;
	char *fsid;
	char *metadata_path;		/* the local bootstrap, may be NULL */
	struct fscached_config *cfg;
	struct bootstrap_info img;	/* its data blobs and their layout */
};

void bindings_init(struct bindings *b)
{
	pthread_mutex_init(&b->lock, NULL);
	list_init(&b->list);
	b->count = 0;
	b->state_path = NULL;
}

static void binding_free(struct binding *bd)
{
	config_free(bd->cfg);
	free(bd->domain);
	free(bd->fsid);
	free(bd->metadata_path);
	bootstrap_info_free(&bd->img);
	free(bd);
}

void bindings_destroy(struct bindings *b)
{
	struct binding *bd, *n;

	list_for_each_entry_safe(bd, n, &b->list, node)
		binding_free(bd);
	list_init(&b->list);
	free(b->state_path);
	b->state_path = NULL;
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

static int bindings_save_locked(struct bindings *b);

/* Whether two entries describe the same blob file the same way. */
static bool same_layout(const struct rafs_blob *x, const struct rafs_blob *y)
{
	return x->chunk_size == y->chunk_size && x->chunk_count == y->chunk_count &&
	       x->compressor == y->compressor && x->digester == y->digester &&
	       x->features == y->features &&
	       x->uncompressed_size == y->uncompressed_size &&
	       x->ci_compressor == y->ci_compressor &&
	       x->ci_offset == y->ci_offset &&
	       x->ci_compressed_size == y->ci_compressed_size &&
	       x->ci_uncompressed_size == y->ci_uncompressed_size &&
	       !memcmp(x->meta_digest, y->meta_digest, sizeof(x->meta_digest));
}

/*
 * Called with b->lock held. A data blob is one file for every image of a
 * domain (one cache file): refuse an image that lays it out otherwise.
 */
static bool layout_conflict(struct bindings *b, const struct binding *nb)
{
	const struct binding *bd;
	unsigned int i;
	int j;

	if (!nb->img.rafs)
		return false;
	list_for_each_entry(bd, &b->list, node) {
		if (strcmp(bd->domain, nb->domain))
			continue;
		for (i = 0; i < nb->img.nr_blobs; i++) {
			j = bootstrap_blob_index(&bd->img, nb->img.tags[i]);
			if (j < 0)
				continue;
			if (!bd->img.rafs ||
			    !same_layout(&bd->img.rafs[j], &nb->img.rafs[i])) {
				log_error("image %s names blob %s, which image %s of domain %s lays out otherwise",
					  nb->fsid, nb->img.tags[i], bd->fsid,
					  bd->domain);
				return true;
			}
		}
	}
	return false;
}

int bindings_add_image(struct bindings *b, const char *domain,
		       const char *fsid, const char *metadata_path,
		       struct fscached_config *cfg, struct bootstrap_info *bi)
{
	struct binding *bd = calloc(1, sizeof(*bd));
	int ret = 0;

	if (!bd) {
		config_free(cfg);
		bootstrap_info_free(bi);
		return -ENOMEM;
	}
	bd->cfg = cfg;
	bd->domain = strdup(domain);
	bd->fsid = strdup(fsid);
	bd->img = *bi;
	memset(bi, 0, sizeof(*bi));
	if (metadata_path && *metadata_path) {
		bd->metadata_path = strdup(metadata_path);
		if (!bd->metadata_path) {
			binding_free(bd);
			return -ENOMEM;
		}
	}
	if (!bd->domain || !bd->fsid) {
		binding_free(bd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&b->lock);
	if (binding_find(b, domain, fsid)) {
		ret = -EEXIST;
	} else if (layout_conflict(b, bd)) {
		ret = -EXDEV;
	} else {
		list_add_tail(&bd->node, &b->list);
		b->count++;
		bindings_save_locked(b);
	}
	pthread_mutex_unlock(&b->lock);
	if (ret)
		binding_free(bd);
	return ret;
}

int bindings_add(struct bindings *b, const char *domain, const char *fsid,
		 const char *metadata_path, struct fscached_config *cfg,
		 char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int nr_tags)
{
	struct bootstrap_info bi = { .nr_blobs = nr_tags };

	if (nr_tags) {
		bi.tags = calloc(nr_tags, sizeof(*bi.tags));
		if (!bi.tags) {
			config_free(cfg);
			return -ENOMEM;
		}
		memcpy(bi.tags, tags, nr_tags * sizeof(*bi.tags));
	}
	return bindings_add_image(b, domain, fsid, metadata_path, cfg, &bi);
}

int bindings_remove(struct bindings *b, const char *domain, const char *fsid)
{
	struct binding *bd;

	pthread_mutex_lock(&b->lock);
	bd = binding_find(b, domain, fsid);
	if (bd) {
		list_del(&bd->node);
		b->count--;
		bindings_save_locked(b);
	}
	pthread_mutex_unlock(&b->lock);
	if (!bd)
		return -ENOENT;
	binding_free(bd);
	return 0;
}

int bindings_remove_domain(struct bindings *b, const char *domain)
{
	struct binding *bd, *n;
	struct list_head gone;
	int count = 0;

	list_init(&gone);
	pthread_mutex_lock(&b->lock);
	list_for_each_entry_safe(bd, n, &b->list, node) {
		if (strcmp(bd->domain, domain))
			continue;
		list_del(&bd->node);
		list_add_tail(&bd->node, &gone);
		b->count--;
		count++;
	}
	if (count)
		bindings_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	list_for_each_entry_safe(bd, n, &gone, node)
		binding_free(bd);
	return count ? count : -ENOENT;
}

/* Called with b->lock held: how @bd serves @blob_id. */
static int binding_source(const struct binding *bd, const char *blob_id,
			  struct blob_source *src)
{
	memset(src, 0, sizeof(*src));
	/* The bootstrap itself comes from its local copy, as with nydusd. */
	if (bd->metadata_path && !strcmp(bd->fsid, blob_id))
		return blob_source_bootstrap(src, bd->cfg, &bd->img,
					     bd->metadata_path);
	src->cfg = config_dup(bd->cfg);
	if (!src->cfg)
		return -ENOMEM;
	if (!strcmp(bd->fsid, blob_id))
		return 0;
	return bootstrap_blob_source(&bd->img, blob_id, src);
}

/*
 * Called with b->lock held. Another image of the domain may use chunks of
 * the same blob that @found's chunk table does not list: take their
 * digests too, so that every chunk an image reads is checked.
 */
static void merge_digests(struct bindings *b, const struct binding *found,
			  const char *domain, const char *blob_id,
			  struct blob_source *src)
{
	const struct binding *bd;
	struct chunk_digest *d;
	uint32_t n, known;
	int i;

	list_for_each_entry(bd, &b->list, node) {
		if (bd == found || strcmp(bd->domain, domain) || !bd->img.digests)
			continue;
		i = bootstrap_blob_index(&bd->img, blob_id);
		if (i < 0 || !bd->img.digests[i])
			continue;
		n = bd->img.nr_digests[i];
		d = realloc(src->digests, (src->nr_digests + n) * sizeof(*d));
		if (!d)
			return;		/* fewer chunks checked, none wrong */
		known = src->nr_digests;
		memcpy(d + known, bd->img.digests[i], n * sizeof(*d));
		src->digests = d;
		src->nr_digests = known + n;
		chunk_digests_sort(src->digests, &src->nr_digests);
	}
}

int bindings_resolve_source(struct bindings *b, const char *domain,
			    const char *blob_id, struct blob_source *src)
{
	struct binding *bd, *found = NULL, *only = NULL;
	unsigned int in_domain = 0;
	bool tags_known = false;
	int ret = -ENOENT;

	pthread_mutex_lock(&b->lock);
	list_for_each_entry(bd, &b->list, node) {
		if (strcmp(bd->domain, domain))
			continue;
		in_domain++;
		only = bd;
		tags_known |= bd->img.nr_blobs > 0;
		if (!strcmp(bd->fsid, blob_id) ||
		    bootstrap_blob_index(&bd->img, blob_id) >= 0) {
			found = bd;
			break;
		}
	}
	if (!found && in_domain == 1 && !tags_known)
		found = only;
	if (found)
		ret = binding_source(found, blob_id, src);
	if (!ret && src->digests)
		merge_digests(b, found, domain, blob_id, src);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

struct fscached_config *bindings_resolve(struct bindings *b,
					 const char *domain,
					 const char *blob_id)
{
	struct blob_source src;
	struct fscached_config *cfg;

	if (bindings_resolve_source(b, domain, blob_id, &src))
		return NULL;
	cfg = src.cfg;
	src.cfg = NULL;
	blob_source_release(&src);
	return cfg;
}

static struct json_object *binding_json(const struct binding *bd,
					bool with_config)
{
	struct json_object *o = json_object_new_object(), *blobs;
	unsigned int i;

	json_object_object_add(o, "domain_id", json_object_new_string(bd->domain));
	json_object_object_add(o, "id", json_object_new_string(bd->fsid));
	if (bd->metadata_path)
		json_object_object_add(o, "metadata_path",
				       json_object_new_string(bd->metadata_path));
	if (with_config) {
		json_object_object_add(o, "config", config_to_json(bd->cfg));
	} else {
		json_object_object_add(o, "config_id",
				       json_object_new_string(bd->cfg->id));
		json_object_object_add(o, "backend_type",
				       json_object_new_string(bd->cfg->backend_type));
	}
	blobs = json_object_new_array();
	for (i = 0; i < bd->img.nr_blobs; i++)
		json_object_array_add(blobs, json_object_new_string(bd->img.tags[i]));
	json_object_object_add(o, "blobs", blobs);
	return o;
}

/* Called with b->lock held. */
static struct json_object *bindings_array(struct bindings *b, bool with_config)
{
	struct json_object *arr = json_object_new_array();
	struct binding *bd;

	list_for_each_entry(bd, &b->list, node)
		json_object_array_add(arr, binding_json(bd, with_config));
	return arr;
}

struct json_object *bindings_json(struct bindings *b)
{
	struct json_object *arr;

	pthread_mutex_lock(&b->lock);
	arr = bindings_array(b, false);
	pthread_mutex_unlock(&b->lock);
	return arr;
}

/* Called with b->lock held. */
static struct json_object *bindings_state_locked(struct bindings *b)
{
	struct json_object *root = json_object_new_object();

	json_object_object_add(root, "fscached_state",
			       json_object_new_int(BINDINGS_STATE_VERSION));
	json_object_object_add(root, "images", bindings_array(b, true));
	return root;
}

struct json_object *bindings_state(struct bindings *b)
{
	struct json_object *root;

	pthread_mutex_lock(&b->lock);
	root = bindings_state_locked(b);
	pthread_mutex_unlock(&b->lock);
	return root;
}

/*
 * Called with b->lock held, so that files are written in the order of the
 * changes. The file holds registry credentials: 0600.
 */
static int bindings_save_locked(struct bindings *b)
{
	struct json_object *root;
	char tmp[PATH_MAX];
	const char *text;
	size_t len;
	int fd, ret = 0;

	if (!b->state_path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", b->state_path) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	root = bindings_state_locked(b);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) ||
	    rename(tmp, b->state_path))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	json_object_put(root);
	if (ret)
		log_error("cannot save the bound images to %s: %s; a restarted daemon would not know them",
			  b->state_path, strerror(-ret));
	return ret;
}

int bindings_persist_to(struct bindings *b, const char *path)
{
	int ret;

	pthread_mutex_lock(&b->lock);
	free(b->state_path);
	b->state_path = path ? strdup(path) : NULL;
	ret = path && !b->state_path ? -ENOMEM : bindings_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static int state_error(char *err, size_t errlen, unsigned int i,
		       const char *what)
{
	snprintf(err, errlen, "images[%u]: %s", i, what);
	return -EINVAL;
}

static int bindings_load_one(struct bindings *b, struct json_object *img,
			     unsigned int i, char *err, size_t errlen)
{
	char (*tags)[EROFS_DEVICE_TAG_MAX + 1] = NULL;
	struct json_object *domain, *fsid, *config, *blobs, *tag, *meta;
	struct fscached_config *cfg;
	char cerr[CONFIG_ERR_MAX];
	size_t nr, k;
	int ret;

	if (!json_object_object_get_ex(img, "domain_id", &domain) ||
	    !json_object_object_get_ex(img, "id", &fsid) ||
	    !json_object_object_get_ex(img, "config", &config) ||
	    !json_object_object_get_ex(img, "blobs", &blobs) ||
	    !json_object_is_type(domain, json_type_string) ||
	    !json_object_is_type(fsid, json_type_string) ||
	    !json_object_is_type(blobs, json_type_array))
		return state_error(err, errlen, i,
				   "needs domain_id, id, config and blobs");
	nr = json_object_array_length(blobs);
	if (nr > BINDINGS_MAX_BLOBS)
		return state_error(err, errlen, i, "too many blobs");
	if (nr) {
		tags = calloc(nr, sizeof(*tags));
		if (!tags)
			return -ENOMEM;
	}
	for (k = 0; k < nr; k++) {
		tag = json_object_array_get_idx(blobs, k);
		if (!json_object_is_type(tag, json_type_string) ||
		    json_object_get_string_len(tag) > EROFS_DEVICE_TAG_MAX) {
			ret = state_error(err, errlen, i, "a blob is not a tag");
			goto out;
		}
		strcpy(tags[k], json_object_get_string(tag));
	}
	ret = config_from_json(config, &cfg, cerr, sizeof(cerr));
	if (ret) {
		snprintf(err, errlen, "images[%u].config: %s", i,
			 ret == -EINVAL ? cerr : strerror(-ret));
		goto out;
	}
	if (!json_object_object_get_ex(img, "metadata_path", &meta) ||
	    !json_object_is_type(meta, json_type_string))
		meta = NULL;
	/*
	 * A RAFS image's blob layout is not in the state: read it again
	 * from the bootstrap, which must still be there.
	 */
	if (meta) {
		char berr[256] = "";
		struct bootstrap_info bi;

		ret = bootstrap_read(json_object_get_string(meta), cfg->validate,
				     &bi, berr, sizeof(berr));
		if (ret) {
			config_free(cfg);
			snprintf(err, errlen, "images[%u]: metadata_path %s: %s", i,
				 json_object_get_string(meta), berr);
			goto out;
		}
		ret = bindings_add_image(b, json_object_get_string(domain),
					 json_object_get_string(fsid),
					 json_object_get_string(meta), cfg, &bi);
	} else {
		ret = bindings_add(b, json_object_get_string(domain),
				   json_object_get_string(fsid), NULL, cfg,
				   tags, nr);
	}
	if (ret == -EEXIST)
		ret = state_error(err, errlen, i, "bound twice");
out:
	free(tags);
	return ret;
}

int bindings_load_state(struct bindings *b, struct json_object *state,
			char *err, size_t errlen)
{
	struct json_object *v, *images;
	char *path;
	size_t i, nr;
	int ret = 0;

	if (!json_object_is_type(state, json_type_object) ||
	    !json_object_object_get_ex(state, "fscached_state", &v) ||
	    json_object_get_int(v) != BINDINGS_STATE_VERSION ||
	    !json_object_object_get_ex(state, "images", &images) ||
	    !json_object_is_type(images, json_type_array)) {
		snprintf(err, errlen, "not a version %d fscached state",
			 BINDINGS_STATE_VERSION);
		return -EINVAL;
	}
	/* Loading is not a change: write nothing until it is done. */
	pthread_mutex_lock(&b->lock);
	path = b->state_path;
	b->state_path = NULL;
	pthread_mutex_unlock(&b->lock);
	nr = json_object_array_length(images);
	for (i = 0; i < nr && !ret; i++)
		ret = bindings_load_one(b, json_object_array_get_idx(images, i),
					i, err, errlen);
	pthread_mutex_lock(&b->lock);
	b->state_path = path;
	pthread_mutex_unlock(&b->lock);
	return ret ? ret : (int)nr;
}

unsigned int bindings_update_configs(struct bindings *b, const char *id,
				     const struct config_update *u)
{
	struct json_object *patch;
	struct binding *bd;
	unsigned int n = 0;

	pthread_mutex_lock(&b->lock);
	list_for_each_entry(bd, &b->list, node) {
		patch = config_apply_update(bd->cfg, id, u);
		if (!patch)
			continue;
		json_object_put(patch);
		n++;
	}
	if (n)
		bindings_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	return n;
}
