// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "lib/blob_id.h"
#include "lib/compiler.h"
#include "lib/list.h"

static const struct backend_ops *const backends[] = {
	&localfs_backend_ops,
	&http_backend_ops,
	&registry_backend_ops,
	&s3_backend_ops,
	&oss_backend_ops,
};

static const struct backend_ops *backend_find(const char *type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->type, type))
			return backends[i];
	return NULL;
}

int backend_type_known(const char *type)
{
	return backend_find(type) != NULL;
}

const char *backend_type_list(void)
{
	static char list[128];
	unsigned int i;
	size_t n = 0;

	if (list[0])
		return list;
	for (i = 0; i < ARRAY_SIZE(backends) && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      i ? ", " : "", backends[i]->type);
	return list;
}

int backend_check_config(const char *type, struct json_object *cfg,
			 const char *where, char *err, size_t errlen)
{
	const struct backend_ops *ops = backend_find(type);

	if (!ops) {
		snprintf(err, errlen, "backend.type: unknown backend '%s'",
			 type);
		return -EINVAL;
	}
	return ops->check_config(cfg, where, err, errlen);
}

int backend_create(const char *type, struct json_object *cfg,
		   struct backend **out)
{
	const struct backend_ops *ops = backend_find(type);
	int ret;

	if (!ops)
		return -EINVAL;
	ret = ops->create(cfg, out);
	if (!ret)
		(*out)->ops = ops;
	return ret;
}

void backend_destroy(struct backend *be)
{
	if (be)
		be->ops->destroy(be);
}

int backend_blob_open(struct backend *be, const char *id,
		      struct backend_blob **out)
{
	int ret;

	/* Every backend turns the id into a path or a URL: check it once. */
	if (!blob_id_valid(id, strlen(id)))
		return -EINVAL;
	counter_add(&be->stats.opens, 1);
	ret = be->ops->blob_open(be, id, out);
	if (ret) {
		counter_add(&be->stats.open_errors, 1);
		return ret;
	}
	(*out)->backend = be;
	return 0;
}

/*
 * The outcome @n of a read (or copy) of @want bytes, counted: a backend that
 * returns less or more than asked is broken, and gives no data.
 */
static ssize_t backend_count_read(struct backend *be, ssize_t n, size_t want)
{
	counter_add(&be->stats.reads, 1);
	if (n >= 0 && (size_t)n != want)
		n = -EIO;
	if (n < 0) {
		counter_add(&be->stats.read_errors, 1);
		return n;
	}
	counter_add(&be->stats.read_bytes, n);
	return n;
}

ssize_t backend_blob_read(struct backend_blob *blob, void *buf, size_t len,
			  uint64_t off)
{
	size_t want;

	if (off >= blob->size)
		return 0;
	want = MIN((uint64_t)len, blob->size - off);
	return backend_count_read(blob->backend,
				  blob->backend->ops->blob_read(blob, buf, want, off),
				  want);
}

bool backend_blob_can_copy(const struct backend_blob *blob)
{
	return blob->backend->ops->blob_copy != NULL;
}

ssize_t backend_blob_copy(struct backend_blob *blob, int fd, uint64_t fd_off,
			  size_t len, uint64_t off)
{
	struct backend *be = blob->backend;
	size_t want;
	ssize_t n;

	if (!be->ops->blob_copy)
		return -EXDEV;
	if (off >= blob->size)
		return 0;
	want = MIN((uint64_t)len, blob->size - off);
	n = be->ops->blob_copy(blob, fd, fd_off, want, off);
	/* Refused before a byte moved: no read happened, none failed. */
	if (n == -EXDEV || n == -EINVAL || n == -EOPNOTSUPP || n == -ENOSYS)
		return -EXDEV;
	return backend_count_read(be, n, want);
}

bool backend_blob_can_stream(const struct backend_blob *blob)
{
	return blob->backend->ops->blob_stream != NULL;
}

struct stream_count {
	backend_consume_fn consume;
	void *ctx;
	uint64_t got;
};

static int stream_count_consume(void *arg, const void *data, size_t n)
{
	struct stream_count *sc = arg;

	sc->got += n;
	return sc->consume(sc->ctx, data, n);
}

int backend_blob_stream(struct backend_blob *blob, uint64_t off, uint64_t len,
			backend_consume_fn consume, void *ctx)
{
	struct stream_count sc = { .consume = consume, .ctx = ctx };
	struct backend *be = blob->backend;
	uint64_t want;
	int ret;

	if (!be->ops->blob_stream)
		return -EOPNOTSUPP;
	if (off >= blob->size)
		return 0;
	want = MIN(len, blob->size - off);
	counter_add(&be->stats.reads, 1);
	ret = be->ops->blob_stream(blob, off, want, stream_count_consume, &sc);
	if (!ret && sc.got != want)
		ret = -EIO;
	counter_add(&be->stats.read_bytes, sc.got);
	if (ret)
		counter_add(&be->stats.read_errors, 1);
	return ret;
}

void backend_blob_close(struct backend_blob *blob)
{
	if (blob)
		blob->backend->ops->blob_close(blob);
}

int backend_update(struct backend *be, struct json_object *patch)
{
	if (!be->ops->update)
		return -EOPNOTSUPP;
	return be->ops->update(be, patch);
}

int backend_nydus_field(const char *key, struct json_object *val,
			const char *where, char *err, size_t errlen)
{
	bool off;

	if (!strcmp(key, "readahead"))
		off = !json_object_get_boolean(val);
	else if (!strcmp(key, "readahead_sec"))
		off = !json_object_get_int64(val);
	else
		return 0;
	if (off)
		return 1;
	snprintf(err, errlen,
		 "%s.%s: nydusd's backend read-ahead is not supported; fscached reads ahead by itself (--readahead-kb)",
		 where, key);
	return -EINVAL;
}
