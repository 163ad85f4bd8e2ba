/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What binding an image needs from its bootstrap file: the data blobs it
 * names (EROFS device tags) and, for a RAFS v6 (nydus) image, each blob's
 * blob table entry and, when asked, its chunk digests.
 */
#ifndef FSCACHED_BOOTSTRAP_H
#define FSCACHED_BOOTSTRAP_H

#include <stdbool.h>

#include "lib/blob_range.h"
#include "format/erofs.h"
#include "format/rafs.h"

#define BOOTSTRAP_MAX_TAGS	RAFS_MAX_BLOBS

struct fscached_config;

/* A chunk's digest from the chunk table: arrays of these sort by index. */
struct chunk_digest {
	uint32_t index;			/* in the blob's ci array */
	unsigned char md[32];
};

/* Sort @d by index, dropping repeats; @nr is updated. */
void chunk_digests_sort(struct chunk_digest *d, uint32_t *nr);
const struct chunk_digest *chunk_digest_find(const struct chunk_digest *d,
					     uint32_t nr, uint32_t index);

struct bootstrap_info {
	unsigned int nr_blobs;
	char (*tags)[EROFS_DEVICE_TAG_MAX + 1];
	struct rafs_blob *rafs;		/* NULL: plain EROFS, byte for byte */
	/* per blob: its chunk-table digests, sorted by index, or NULL */
	struct chunk_digest **digests;
	uint32_t *nr_digests;
	/*
	 * per blob: the ranges of the files in the bootstrap's prefetch
	 * table, sorted and merged (NULL: none)
	 */
	struct blob_range **prefetch;
	unsigned int *nr_prefetch;
	/*
	 * The bootstrap the kernel's cookie is served from, when it is not
	 * the file itself: a sealed memfd holding the bootstrap inlined in
	 * a data blob, or a copy whose inlined blobs' tags are their ids.
	 */
	bool boot_in_memory;
	int boot_fd;
};

/*
 * Read the bootstrap at @path (a regular file): a bootstrap, or a data
 * blob with its bootstrap inlined (bootstrap_inline.h), whose file name
 * is then its id. With @want_digests, also the chunk digests of a RAFS
 * image. -errno with the reason in @err, which names the blob and the
 * field when the image cannot be served.
 */
int bootstrap_read(const char *path, bool want_digests,
		   struct bootstrap_info *out, char *err, size_t errlen);
void bootstrap_info_free(struct bootstrap_info *bi);

/* How a blob the kernel opens is served: which configuration, which map. */
struct blob_source {
	struct fscached_config *cfg;
	/*
	 * The bootstrap itself, from the file it was bound with: its id is
	 * the runtime's name for the image, not the digest of its bytes.
	 */
	bool local_bootstrap;
	/*
	 * Its own reference to a bootstrap in memory, which cfg reads as
	 * /proc/self/fd/N: an unbind may close the binding's meanwhile.
	 */
	bool has_boot_fd;
	int boot_fd;
	bool is_rafs;			/* a nydus data blob: rafs is its entry */
	struct rafs_blob rafs;
	struct chunk_digest *digests;	/* its chunk digests, or NULL */
	uint32_t nr_digests;
	struct blob_range *prefetch;	/* files to fetch first, or NULL */
	unsigned int nr_prefetch;
};

void blob_source_release(struct blob_source *src);

/*
 * Serve the bootstrap of @bi, bound from @path, through @src: a localfs
 * configuration of @base reading the file, or the memfd, which @src then
 * holds. 0, or -errno with @src released.
 */
int blob_source_bootstrap(struct blob_source *src,
			  const struct fscached_config *base,
			  const struct bootstrap_info *bi, const char *path);

/* The index of @blob_id among @bi's data blobs, or -1. */
int bootstrap_blob_index(const struct bootstrap_info *bi, const char *blob_id);
/*
 * How @bi lays out @blob_id: @src's layout fields filled with copies
 * (a blob it does not name, or a plain image's, is byte for byte).
 * 0 or -ENOMEM (then @src is released).
 */
int bootstrap_blob_source(const struct bootstrap_info *bi, const char *blob_id,
			  struct blob_source *src);

#endif
