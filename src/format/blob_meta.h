/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A nydus data blob's meta ("ci", chunk-info array): where each chunk of
 * the blob's uncompressed space (the cache file) lives in the blob as
 * stored (compressed space). v1 and v2 records, batch and ZRan tables,
 * and the 4096-byte header that follows the ci in the blob. Pure
 * functions of bytes: fetching and decompressing the ci is the caller's.
 */
#ifndef FSCACHED_FORMAT_BLOB_META_H
#define FSCACHED_FORMAT_BLOB_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rafs.h"

#define BLOB_META_HEADER_SIZE	4096
#define BLOB_META_MAGIC		0xB10BB10BU

/* Chunk flags (v2 names; v1 gives only COMPRESSED) */
#define CHUNK_COMPRESSED	0x01
#define CHUNK_ZRAN		0x02
#define CHUNK_BATCH		0x04
#define CHUNK_ENCRYPTED		0x08
#define CHUNK_HAS_CRC32		0x10

struct blob_chunk {
	uint64_t u_off;		/* in the cache file, 4 KiB aligned */
	uint64_t c_off;		/* in the blob (batch: the batch's start) */
	uint32_t u_size;
	uint32_t c_size;	/* 0 for batch members */
	uint32_t aux;		/* crc32c, or offset in the batch/context output */
	uint32_t ctx;		/* batch or zran context index */
	uint8_t flags;
};

struct blob_batch {
	uint32_t c_size;
	uint32_t u_size;	/* unaligned */
};

struct blob_zran {
	uint64_t in_offset;	/* in the gzip blob */
	uint64_t out_offset;
	uint32_t in_len;
	uint32_t out_len;
	uint32_t dict_off;	/* into blob_meta.dicts */
	uint32_t dict_size;
	uint8_t ctx_byte;
	uint8_t ctx_bits;
};

struct blob_meta {
	uint32_t nr_chunks;
	uint32_t nr_batches;
	uint32_t nr_zran;
	uint32_t features;
	uint64_t size;		/* uncompressed space: the cache file */
	uint64_t data_size;	/* compressed chunk data in the (data) blob */
	struct blob_chunk *chunks;
	struct blob_batch *batches;
	struct blob_zran *zran;
	unsigned char *dicts;	/* ZRan dictionaries */
	size_t dicts_len;
};

/* The header's fields, checked against the blob table entry @b. */
int blob_meta_header_check(const struct rafs_blob *b, const void *hdr,
			   char *err, size_t errlen);

/*
 * Decode @ci (the uncompressed ci data, b->ci_uncompressed_size bytes)
 * with its header @hdr into a new blob_meta, checking every record
 * against the blob's sizes. @data_size: bytes of chunk data in the blob.
 */
int blob_meta_parse(const struct rafs_blob *b, const void *ci, size_t len,
		    const void *hdr, uint64_t data_size,
		    struct blob_meta **out, char *err, size_t errlen);
void blob_meta_free(struct blob_meta *m);

/*
 * The first chunk whose aligned end is past @addr (its u_off may be
 * beyond @addr, in a hole), or m->nr_chunks.
 */
uint32_t blob_meta_find(const struct blob_meta *m, uint64_t addr);

/*
 * Whether the uncompressed space may have holes no chunk covers: only
 * ZRan (and chunk-dictionary) blobs; blob_meta_parse() refuses them in
 * any other.
 */
static inline bool blob_meta_may_have_holes(const struct blob_meta *m)
{
	return m->features & (RAFS_BLOB_ZRAN | RAFS_BLOB_CHUNKDICT_GENERATED);
}

/* Where chunk @i ends in the cache file: its 4 KiB aligned end. */
static inline uint64_t blob_chunk_aligned_end(const struct blob_chunk *c)
{
	return (c->u_off + c->u_size + 4095) & ~4095ULL;
}

#endif
