// SPDX-License-Identifier: GPL-2.0
/*
 * The blob files: one sparse cache file per data blob, found by the inode
 * an event's fd opens (the event names no path), shared by every mount of
 * an image that has that blob.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"
#include "fanotify_int.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "uapi/fanotify_hsm.h"

static unsigned int bucket_of(uint64_t ino)
{
	return (unsigned int)(ino * 2654435761u) % FAN_FILE_BUCKETS;
}

void fan_files_init(struct fan_files *t)
{
	unsigned int i;

	pthread_mutex_init(&t->lock, NULL);
	t->count = 0;
	for (i = 0; i < FAN_FILE_BUCKETS; i++)
		list_init(&t->buckets[i]);
}

void fan_files_destroy(struct fan_files *t)
{
	struct fan_file *f, *tmp;
	unsigned int i;

	for (i = 0; i < FAN_FILE_BUCKETS; i++)
		list_for_each_entry_safe(f, tmp, &t->buckets[i], node) {
			list_del(&f->node);
			fan_file_put(f);
		}
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

void fan_file_get(struct fan_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void fan_file_put(struct fan_file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (f->bc)
		blob_cache_put(f->bc);
	if (f->fd >= 0)
		close(f->fd);
	free(f->blob_id);
	free(f->path);
	free(f);
}

struct fan_file *fan_files_lookup(struct fan_files *t, uint64_t dev,
				  uint64_t ino)
{
	struct fan_file *f, *found = NULL;

	pthread_mutex_lock(&t->lock);
	list_for_each_entry(f, &t->buckets[bucket_of(ino)], node)
		if ((uint64_t)f->ino == ino && (uint64_t)f->dev == dev) {
			fan_file_get(f);
			found = f;
			break;
		}
	pthread_mutex_unlock(&t->lock);
	return found;
}

struct fan_file *fan_files_lookup_fd(struct fan_files *t, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	return fan_files_lookup(t, st.st_dev, st.st_ino);
}

/* The file of blob @blob_id, or NULL. Under t->lock. */
static struct fan_file *fan_files_find_id(struct fan_files *t,
					  const char *blob_id)
{
	struct fan_file *f;
	unsigned int i;

	for (i = 0; i < FAN_FILE_BUCKETS; i++)
		list_for_each_entry(f, &t->buckets[i], node)
			if (!strcmp(f->blob_id, blob_id))
				return f;
	return NULL;
}

struct fan_file *fan_files_mount(struct fan_files *t, const char *blob_id)
{
	struct fan_file *f;

	pthread_mutex_lock(&t->lock);
	f = fan_files_find_id(t, blob_id);
	if (f)
		f->mounts++;
	pthread_mutex_unlock(&t->lock);
	return f;
}

bool fan_files_has(struct fan_files *t, const char *blob_id)
{
	bool found;

	pthread_mutex_lock(&t->lock);
	found = fan_files_find_id(t, blob_id);
	pthread_mutex_unlock(&t->lock);
	return found;
}

void fan_files_insert(struct fan_files *t, struct fan_file *f)
{
	pthread_mutex_lock(&t->lock);
	f->mounts = 1;
	list_add_tail(&f->node, &t->buckets[bucket_of(f->ino)]);
	t->count++;
	pthread_mutex_unlock(&t->lock);
}

bool fan_files_unmount(struct fan_files *t, struct fan_file *f)
{
	bool last;

	pthread_mutex_lock(&t->lock);
	last = !--f->mounts;
	if (last) {
		list_del(&f->node);
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	return last;
}

unsigned int fan_files_count(struct fan_files *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/*
 * The file's size: the blob's, in whole blocks, because fills write whole
 * blocks and a write past the end would have to grow it (ftruncate after
 * the mark raises an event even through our own fd).
 */
static int fan_file_size(struct fan_file *f, uint64_t size, bool restoring)
{
	uint64_t want = ALIGN_UP(size, CACHE_BLOCK_SIZE);
	struct stat st;

	if (fstat(f->fd, &st))
		return -errno;
	if ((uint64_t)st.st_size == want)
		return 0;
	/*
	 * Marked already (a takeover): a truncate would wait for an answer
	 * from the event loop, which does not run yet.
	 */
	if (restoring)
		return -ESTALE;
	/* Another size: bytes of something else; start empty. */
	if (st.st_size && ftruncate(f->fd, 0))
		return -errno;
	if (ftruncate(f->fd, (off_t)want))
		return -errno;
	return 0;
}

int fan_file_prepare(struct fanotify_frontend *fe, const char *blob_id,
		     struct blob_cache *bc, int fd, struct fan_file **out)
{
	struct fan_file *f;
	struct stat st;
	int ret;

	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		blob_cache_put(bc);
		return -ENOMEM;
	}
	f->refs = 1;
	f->fd = fd;
	f->bc = bc;
	f->blob_id = strdup(blob_id);
	ret = asprintf(&f->path, "%s/%s", fe->blob_dir, blob_id);
	if (ret < 0)
		f->path = NULL;
	if (!f->blob_id || !f->path) {
		ret = -ENOMEM;
		goto err;
	}
	ret = fan_file_size(f, bc->size, fe->restoring);
	if (ret) {
		log_error("cannot size cache file %s to %llu bytes: %s",
			  f->path, (unsigned long long)bc->size, strerror(-ret));
		goto err;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto err;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (fanotify_mark(fe->group_fd, FAN_MARK_ADD, FAN_PRE_ACCESS, fd,
			  NULL)) {
		ret = -errno;
		log_error("cannot mark cache file %s for FAN_PRE_ACCESS: %s",
			  f->path, strerror(errno));
		goto err;
	}
	*out = f;
	return 0;
err:
	fan_file_put(f);
	return ret;
}

struct fan_opening *fan_opening_find(struct fanotify_frontend *fe,
				     const char *blob_id)
{
	struct fan_opening *op;

	list_for_each_entry(op, &fe->opening, node)
		if (!strcmp(op->blob_id, blob_id))
			return op;
	return NULL;
}

bool fan_opening_has(struct fanotify_frontend *fe, const char *blob_id)
{
	return fan_opening_find(fe, blob_id);
}
