/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nydus data blobs in the file cache manager: the cache file is the blob's
 * uncompressed space, filled chunk by chunk through the blob meta
 * (format/blob_meta.h): fetch the compressed range, decompress, check,
 * zero-pad each chunk to 4 KiB and write it at its u_off.
 */
#ifndef FSCACHED_CACHE_NYDUS_H
#define FSCACHED_CACHE_NYDUS_H

#include <stdint.h>

struct backend;
struct backend_blob;
struct blob_cache;
struct blob_info;
struct blob_meta;
struct cache_mgr;
struct rafs_blob;

/* Private directory (under the cache dir) for blob meta copies. */
#define NYDUS_META_DIR		"nydus"

/*
 * The blob meta of @desc: from its local copy in @dir (checked against
 * the blob table), else fetched from @data (or, SEPARATE, from the blob
 * named by its meta digest through @be) and kept in @dir. @fetched gets
 * the backend bytes this cost. -EINVAL with @err for a bad meta.
 */
int nydus_meta_load(struct backend *be, struct backend_blob *data,
		    const struct rafs_blob *desc, const char *dir,
		    struct blob_meta **out, uint64_t *fetched, char *err,
		    size_t errlen);

/*
 * blob.digest of @d (every chunk's digest, in ci order), through the
 * blob's ToC, when it has both; *@out stays NULL when it has not. Kept in
 * @dir (may be NULL) beside the blob meta, so it is fetched once.
 * -EINVAL with @err for a ToC or section that does not check out.
 */
int nydus_blob_digests(struct backend_blob *data, const struct rafs_blob *d,
		       const char *dir, unsigned char **out, char *err,
		       size_t errlen);

/*
 * Forget the local copies (blob meta, blob.digest) of blob @blob_id kept
 * under @cache_dir, once its cache file is culled: they would otherwise
 * outlive it. The number of files removed, or -errno.
 */
int nydus_meta_drop(const char *cache_dir, const char *blob_id);

/* Set up @bc (whose cache_fd is open) to serve the nydus data blob. */
int nydus_blob_init(struct cache_mgr *mgr, const struct blob_info *info,
		    struct blob_cache *bc);

#endif
