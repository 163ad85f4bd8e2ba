// SPDX-License-Identifier: GPL-2.0
/* Digest checks of released cache files: see recheck.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/blob_id.h"
#include "lib/compiler.h"
#include "cull.h"
#include "lib/log.h"
#include "recheck.h"

struct recheck_item {
	struct list_head node;
	char *domain;
	char *id;
	uint64_t size;
};

static void recheck_item_free(struct recheck_item *it)
{
	free(it->domain);
	free(it->id);
	free(it);
}

struct recheck_find {
	const char *name;	/* D<blob id> */
	int dir_fd, file_fd;
};

static int recheck_find_fan(int fan_fd, const char *fan, void *arg)
{
	struct recheck_find *f = arg;

	(void)fan;
	f->file_fd = openat(fan_fd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f->file_fd < 0)
		return 0;
	f->dir_fd = dup(fan_fd);
	if (f->dir_fd < 0) {
		close(f->file_fd);
		return -errno;
	}
	return 1;
}

/*
 * The fan-out directory of volume @domain holding D<id>: its fd (and the
 * file's), or -ENOENT.
 */
static int recheck_find(struct cf_recheck *r, const struct recheck_item *it,
			int *dir_fd, int *file_fd)
{
	char path[PATH_MAX], name[BLOB_ID_MAX + 2];
	struct recheck_find f = { .name = name };
	int vol, ret;

	snprintf(path, sizeof(path), "%s/cache/Ierofs,%s", r->cache_dir,
		 it->domain);
	snprintf(name, sizeof(name), "D%s", it->id);
	vol = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vol < 0)
		return -errno;
	ret = cachefiles_for_each_fan(vol, recheck_find_fan, &f);
	if (ret != 1)
		return ret < 0 ? ret : -ENOENT;
	*dir_fd = f.dir_fd;
	*file_fd = f.file_fd;
	return 0;
}

/* 1: the first @size bytes of @fd have sha256 @md; 0: they do not. */
static int recheck_hash(int fd, uint64_t size, const unsigned char md[32])
{
	unsigned char got[EVP_MAX_MD_SIZE];
	size_t bufsize = 1 << 20;
	char *buf = malloc(bufsize);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	uint64_t pos = 0;
	ssize_t n;
	int ret = -ENOMEM;

	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	while (pos < size) {
		n = pread(fd, buf, MIN((uint64_t)bufsize, size - pos), pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, n);
		pos += n;
	}
	EVP_DigestFinal_ex(ctx, got, &len);
	ret = len == 32 && !memcmp(got, md, 32);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

static void recheck_one(struct cf_recheck *r, const struct recheck_item *it)
{
	unsigned char md[32];
	char name[BLOB_ID_MAX + 2];
	int dir_fd = -1, fd = -1, ret = -ENOENT;
	unsigned int waited;
	off_t hole;

	if (!blob_id_sha256(it->id, md))
		return;
	/* cachefiles links the file in just after the CLOSE. */
	for (waited = 0; waited < CF_RECHECK_WAIT_MS &&
	     !__atomic_load_n(&r->stopping, __ATOMIC_RELAXED);
	     waited += 100) {
		ret = recheck_find(r, it, &dir_fd, &fd);
		if (!ret)
			break;
		sleep_ms(100);
	}
	if (ret) {
		log_info("blob '%s' (domain '%s'): its cache file did not appear within %d s of its release: not checked",
			 it->id, it->domain, CF_RECHECK_WAIT_MS / 1000);
		counter_add(&r->stats.missed, 1);
		return;
	}
	if (fgetxattr(fd, CF_RECHECK_XATTR, NULL, 0) >= 0)
		goto out;
	/* Not whole after all (see cf_maybe_recheck()): nothing to check. */
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole >= 0 && (uint64_t)hole < it->size)
		goto out;
	if (hole < 0) {
		counter_add(&r->stats.missed, 1);
		goto out;
	}
	ret = recheck_hash(fd, it->size, md);
	if (ret < 0) {
		log_warn("blob '%s': reading its cache file to check it failed: %s",
			 it->id, strerror(-ret));
		counter_add(&r->stats.missed, 1);
		goto out;
	}
	counter_add(&r->stats.checked, 1);
	if (ret) {
		if (fsetxattr(fd, CF_RECHECK_XATTR, "ok", 2, 0))
			log_debug("blob '%s': cannot mark its cache file checked: %s",
				  it->id, strerror(errno));
		goto out;
	}
	counter_add(&r->stats.mismatches, 1);
	snprintf(name, sizeof(name), "D%s", it->id);
	close(fd);
	fd = -1;
	ret = cachefiles_cull_at(r->dev_fd, dir_fd, name);
	if (!ret) {
		counter_add(&r->stats.culled, 1);
		cachefiles_reap_graveyard(r->cache_dir);
	}
	log_error("blob '%s' (domain '%s'): its cache file does not have the blob's sha256: the backend gave other bytes; %s",
		  it->id, it->domain,
		  !ret ? "culled, the next mount fetches it again" :
		  ret == -EBUSY ? "it is in use again, and is checked again at its next release" :
				  "culling it failed: remove the cache file by hand");
out:
	if (fd >= 0)
		close(fd);
	close(dir_fd);
}

static void *recheck_main(void *arg)
{
	struct cf_recheck *r = arg;
	struct recheck_item *it;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		if (list_empty(&r->queue)) {
			pthread_cond_wait(&r->more, &r->lock);
			continue;
		}
		it = list_first_entry(&r->queue, struct recheck_item, node);
		list_del(&it->node);
		pthread_mutex_unlock(&r->lock);
		recheck_one(r, it);
		recheck_item_free(it);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int cf_recheck_start(struct cf_recheck *r, int dev_fd, const char *cache_dir)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->dev_fd = dev_fd;
	r->cache_dir = strdup(cache_dir);
	if (!r->cache_dir)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->more, NULL);
	list_init(&r->queue);
	ret = -pthread_create(&r->thread, NULL, recheck_main, r);
	if (ret) {
		pthread_cond_destroy(&r->more);
		pthread_mutex_destroy(&r->lock);
		free(r->cache_dir);
	}
	return ret;
}

void cf_recheck_queue(struct cf_recheck *r, const char *domain,
		      const char *id, uint64_t size)
{
	struct recheck_item *it = calloc(1, sizeof(*it));

	if (it) {
		it->domain = strdup(domain);
		it->id = strdup(id);
		it->size = size;
	}
	if (!it || !it->domain || !it->id) {
		if (it)
			recheck_item_free(it);
		return;
	}
	pthread_mutex_lock(&r->lock);
	list_add_tail(&it->node, &r->queue);
	pthread_cond_signal(&r->more);
	pthread_mutex_unlock(&r->lock);
}

void cf_recheck_stop(struct cf_recheck *r)
{
	struct recheck_item *it, *n;

	pthread_mutex_lock(&r->lock);
	__atomic_store_n(&r->stopping, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&r->more);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	list_for_each_entry_safe(it, n, &r->queue, node)
		recheck_item_free(it);
	pthread_cond_destroy(&r->more);
	pthread_mutex_destroy(&r->lock);
	free(r->cache_dir);
}

void cf_recheck_get_stats(struct cf_recheck *r, struct cf_recheck_stats *st)
{
	st->checked = counter_read(&r->stats.checked);
	st->mismatches = counter_read(&r->stats.mismatches);
	st->culled = counter_read(&r->stats.culled);
	st->missed = counter_read(&r->stats.missed);
}
