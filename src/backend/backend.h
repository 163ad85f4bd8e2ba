/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backends: where blobs live (a local directory, an HTTP server, a registry,
 * an object store). A backend answers two questions: how big is a blob, and
 * what are the bytes of a range of it. Nothing here knows about caches or the
 * kernel.
 */
#ifndef FSCACHED_BACKEND_H
#define FSCACHED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct backend;

struct backend_stats {
	uint64_t opens;
	uint64_t open_errors;
	uint64_t reads;
	uint64_t read_bytes;
	uint64_t read_errors;
	uint64_t connections;	/* new network connections (remote backends) */
};

/* One open blob of a backend; @size is known once it is open. */
struct backend_blob {
	struct backend *backend;
	uint64_t size;
};

/* Takes the next @n bytes of a streamed range; a negative return stops it. */
typedef int (*backend_consume_fn)(void *ctx, const void *data, size_t n);

struct backend_ops {
	const char *type;
	/*
	 * Validate the backend's configuration object; on error write a
	 * message naming the field (prefixed with @where) into @err.
	 */
	int (*check_config)(struct json_object *cfg, const char *where,
			    char *err, size_t errlen);
	int (*create)(struct json_object *cfg, struct backend **out);
	void (*destroy)(struct backend *be);
	/* -ENOENT when the blob does not exist. */
	int (*blob_open)(struct backend *be, const char *id,
			 struct backend_blob **out);
	/*
	 * Read up to @len bytes at @off: returns the count, which is less
	 * than @len only at the end of the blob, or -errno.
	 */
	ssize_t (*blob_read)(struct backend_blob *blob, void *buf, size_t len,
			     uint64_t off);
	/*
	 * Optional, for backends where a request costs more than its bytes:
	 * give [off, off + len) (inside the blob) to @consume in order, in
	 * pieces of any size, from one request. Returns 0 or -errno; what
	 * was consumed before an error stays consumed.
	 */
	int (*blob_stream)(struct backend_blob *blob, uint64_t off,
			   uint64_t len, backend_consume_fn consume, void *ctx);
	/*
	 * Optional, for a blob that is a local file: copy @len bytes at
	 * @off into @fd at @fd_off inside the kernel, never through our
	 * memory. Returns the count, less than @len only at the end of the
	 * blob, or -errno: -EXDEV or -EINVAL when @fd cannot take it.
	 */
	ssize_t (*blob_copy)(struct backend_blob *blob, int fd, uint64_t fd_off,
			     size_t len, uint64_t off);
	void (*blob_close)(struct backend_blob *blob);
	/*
	 * Optional: take @patch, keys of this backend's configuration object
	 * (registry "auth", "proxy": {"url"}), for every later request.
	 */
	int (*update)(struct backend *be, struct json_object *patch);
};

struct backend {
	const struct backend_ops *ops;
	struct backend_stats stats;
};

/*
 * Fields of nydus's backend configuration that fscached has no use for.
 * nydus-snapshotter sends them always, at their "off" value: 1 when @key is
 * one of them and off, 0 when it is not one of them, -EINVAL (with @err)
 * when it asks for something fscached does not do.
 */
int backend_nydus_field(const char *key, struct json_object *val,
			const char *where, char *err, size_t errlen);
int backend_check_config(const char *type, struct json_object *cfg,
			 const char *where, char *err, size_t errlen);
int backend_create(const char *type, struct json_object *cfg,
		   struct backend **out);
void backend_destroy(struct backend *be);

int backend_blob_open(struct backend *be, const char *id,
		      struct backend_blob **out);
/* Reads exactly the part of [off, off + len) that lies inside the blob. */
ssize_t backend_blob_read(struct backend_blob *blob, void *buf, size_t len,
			  uint64_t off);
/* Whether backend_blob_copy() may work: the blob is a local file. */
bool backend_blob_can_copy(const struct backend_blob *blob);
/*
 * Copies exactly the part of [off, off + len) that lies inside the blob
 * into @fd at @fd_off (the same offset space, shifted). -EXDEV: @fd cannot
 * take a copy (another filesystem, a device's fd); read and write instead.
 */
ssize_t backend_blob_copy(struct backend_blob *blob, int fd, uint64_t fd_off,
			  size_t len, uint64_t off);
/* Whether backend_blob_stream() makes one request of a whole range. */
bool backend_blob_can_stream(const struct backend_blob *blob);
/*
 * Streams exactly the part of [off, off + len) that lies inside the blob;
 * -EIO when the backend gives fewer bytes.
 */
int backend_blob_stream(struct backend_blob *blob, uint64_t off, uint64_t len,
			backend_consume_fn consume, void *ctx);
void backend_blob_close(struct backend_blob *blob);
/* -EOPNOTSUPP when the backend cannot change at run time. */
int backend_update(struct backend *be, struct json_object *patch);

int backend_type_known(const char *type);
const char *backend_type_list(void);

extern const struct backend_ops localfs_backend_ops;
extern const struct backend_ops http_backend_ops;
extern const struct backend_ops registry_backend_ops;
extern const struct backend_ops s3_backend_ops;
extern const struct backend_ops oss_backend_ops;

#endif
