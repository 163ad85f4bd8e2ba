// SPDX-License-Identifier: GPL-2.0
/*
 * The dummy manager keeps nothing locally: every read goes to the backend.
 * It is what non-Linux builds have, and what a front end that brings its own
 * cache (or none) uses.
 */
#include <errno.h>

#include "cache_int.h"

static int dummy_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
		      struct io_buf *buf, unsigned int flags)
{
	(void)bc, (void)off, (void)len, (void)buf, (void)flags;
	return -EOPNOTSUPP;
}

static const struct blob_cache_ops dummy_blob_ops = {
	.fill = dummy_fill,
	.read = blob_cache_read_backend,
};

static int dummy_blob_init(struct cache_mgr *mgr, const struct blob_info *info,
			   struct blob_cache *bc)
{
	(void)mgr;
	/* Its chunks must be decoded into a cache file. */
	if (info->rafs)
		return -EOPNOTSUPP;
	bc->ops = &dummy_blob_ops;
	return 0;
}

const struct cache_mgr_ops dummy_cache_mgr_ops = {
	.type = "dummy",
	.keep_unused = true,
	.blob_init = dummy_blob_init,
};
