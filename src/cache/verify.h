/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cache.validate: a blob named by its sha256 (blob_id_sha256()) is fetched
 * whole into a staging file, an unnamed O_TMPFILE beside the cache, and its
 * digest checked, before any byte of it is given to the cache: a backend
 * (or a proxy) that corrupts data gives readers EIO, never wrong bytes. The
 * first fill of the blob does it and every other waits for it; a blob
 * already whole in the cache is trusted, since nothing unchecked is ever
 * written into it.
 */
#ifndef FSCACHED_CACHE_VERIFY_H
#define FSCACHED_CACHE_VERIFY_H

#include <stdbool.h>

struct blob_cache;
struct blob_verify;
struct io_buf;

struct blob_verify_ops {
	/* Whether every byte of the blob is already in its cache. */
	bool (*present)(struct blob_cache *bc);
	/* Write the checked blob, staged in @stage_fd, into the cache. */
	int (*publish)(struct blob_cache *bc, int stage_fd, struct io_buf *buf);
};

/*
 * For blob @bc: *out is NULL (and 0 returned) when its id is not a digest.
 * Staging files go to @stage_dir, which must be a directory.
 */
int blob_verify_create(struct blob_cache *bc, const char *stage_dir,
		       const struct blob_verify_ops *ops,
		       struct blob_verify **out);
void blob_verify_free(struct blob_verify *v);
/*
 * 0 once the blob has been checked and published (or was present);
 * -EIO after a digest mismatch, for as long as @v lives; another error
 * from the fetch, in which case the next call tries again.
 */
int blob_verify_ensure(struct blob_verify *v, struct io_buf *buf);

#endif
