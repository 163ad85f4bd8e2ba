// SPDX-License-Identifier: GPL-2.0
/* Whole-blob digest checks before a blob is served (cache.validate). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "lib/blob_id.h"
#include "cache_int.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "verify.h"

enum verify_state {
	VERIFY_PENDING,		/* not checked yet, or the last try failed */
	VERIFY_RUNNING,
	VERIFY_DONE,
	VERIFY_MISMATCH,	/* the backend gave other bytes: sticky */
};

struct blob_verify {
	struct blob_cache *bc;
	const struct blob_verify_ops *ops;
	char *stage_dir;
	unsigned char digest[32];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	enum verify_state state;
};

int blob_verify_create(struct blob_cache *bc, const char *stage_dir,
		       const struct blob_verify_ops *ops,
		       struct blob_verify **out)
{
	struct blob_verify *v;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (!blob_id_sha256(bc->id, v->digest)) {
		free(v);
		return 0;
	}
	v->stage_dir = strdup(stage_dir);
	if (!v->stage_dir) {
		free(v);
		return -ENOMEM;
	}
	v->bc = bc;
	v->ops = ops;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->changed, NULL);
	*out = v;
	return 0;
}

void blob_verify_free(struct blob_verify *v)
{
	if (!v)
		return;
	pthread_cond_destroy(&v->changed);
	pthread_mutex_destroy(&v->lock);
	free(v->stage_dir);
	free(v);
}

struct stage {
	int fd;
	uint64_t pos;
	EVP_MD_CTX *md;
};

static int stage_write(struct stage *st, const void *data, size_t n)
{
	ssize_t w;

	if (!EVP_DigestUpdate(st->md, data, n))
		return -ENOMEM;
	while (n) {
		w = pwrite(st->fd, data, n, st->pos);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		data = (const char *)data + w;
		n -= w;
		st->pos += w;
	}
	return 0;
}

static int stage_consume(void *ctx, const void *data, size_t n)
{
	return stage_write(ctx, data, n);
}

/* The whole blob from the backend into @st, hashed on the way. */
static int stage_fetch(struct blob_cache *bc, struct stage *st,
		       struct io_buf *buf)
{
	ssize_t n;
	int ret;

	if (backend_blob_can_stream(bc->bblob))
		return backend_blob_stream(bc->bblob, 0, bc->size,
					   stage_consume, st);
	while (st->pos < bc->size) {
		n = backend_blob_read(bc->bblob, buf->data,
				      MIN((uint64_t)buf->size,
					  bc->size - st->pos), st->pos);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		ret = stage_write(st, buf->data, n);
		if (ret)
			return ret;
	}
	return 0;
}

static void digest_hex(const unsigned char md[32], char hex[65])
{
	unsigned int i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Fetch, check and publish: 0, -EBADMSG on a mismatch, or -errno. */
static int blob_verify_run(struct blob_verify *v, struct io_buf *buf)
{
	struct blob_cache *bc = v->bc;
	struct stage st = { .fd = -1 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char want[65], got[65];
	uint64_t t0 = monotonic_us();
	int ret;

	st.fd = open(v->stage_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (st.fd < 0) {
		ret = -errno;
		log_error("blob '%s': cannot create a staging file in %s to validate it: %s",
			  bc->id, v->stage_dir, strerror(-ret));
		return ret;
	}
	st.md = EVP_MD_CTX_new();
	if (!st.md || !EVP_DigestInit_ex(st.md, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = stage_fetch(bc, &st, buf);
	counter_add(&bc->stats.fetch_us, monotonic_us() - t0);
	if (ret) {
		log_warn("blob '%s': fetching it whole to validate it failed after %llu of %llu bytes: %s",
			 bc->id, (unsigned long long)st.pos,
			 (unsigned long long)bc->size, strerror(-ret));
		goto out;
	}
	if (!EVP_DigestFinal_ex(st.md, md, &mdlen) || mdlen != 32) {
		ret = -ENOMEM;
		goto out;
	}
	if (memcmp(md, v->digest, 32)) {
		digest_hex(v->digest, want);
		digest_hex(md, got);
		log_error("blob '%s': the backend's %llu bytes have sha256 %s, not %s: discarded, readers get EIO until it is opened again",
			  bc->id, (unsigned long long)st.pos, got, want);
		counter_add(&bc->stats.digest_mismatches, 1);
		ret = -EBADMSG;
		goto out;
	}
	ret = v->ops->publish(bc, st.fd, buf);
	if (!ret) {
		counter_add(&bc->stats.verified, 1);
		counter_add(&bc->stats.verified_bytes, bc->size);
		log_info("blob '%s': %llu bytes fetched and validated (sha256) in %llu ms",
			 bc->id, (unsigned long long)bc->size,
			 (unsigned long long)(monotonic_us() - t0) / 1000);
	}
out:
	EVP_MD_CTX_free(st.md);
	close(st.fd);
	return ret;
}

int blob_verify_ensure(struct blob_verify *v, struct io_buf *buf)
{
	enum verify_state next;
	int ret;

	pthread_mutex_lock(&v->lock);
	while (v->state == VERIFY_RUNNING)
		pthread_cond_wait(&v->changed, &v->lock);
	if (v->state == VERIFY_DONE || v->state == VERIFY_MISMATCH) {
		ret = v->state == VERIFY_DONE ? 0 : -EIO;
		pthread_mutex_unlock(&v->lock);
		return ret;
	}
	v->state = VERIFY_RUNNING;
	pthread_mutex_unlock(&v->lock);

	ret = v->ops->present(v->bc) ? 0 : blob_verify_run(v, buf);
	next = !ret ? VERIFY_DONE :
	       ret == -EBADMSG ? VERIFY_MISMATCH : VERIFY_PENDING;

	pthread_mutex_lock(&v->lock);
	v->state = next;
	pthread_cond_broadcast(&v->changed);
	pthread_mutex_unlock(&v->lock);
	return ret == -EBADMSG ? -EIO : ret;
}
