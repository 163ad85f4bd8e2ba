/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAFS v6 bootstraps (nydus images): the EROFS superblock with nydus'
 * extended superblock, and the blob table that says how each data blob
 * is laid out. Pure functions of bytes: the caller reads the file.
 * Format: Documentation/nydus.md and nydus' rafs/src/metadata/layout/v6.rs.
 */
#ifndef FSCACHED_FORMAT_RAFS_H
#define FSCACHED_FORMAT_RAFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFS_EXT_SB_OFFSET	0x480
#define RAFS_EXT_SB_SIZE	256
#define RAFS_BLOB_ENTRY_SIZE	256
#define RAFS_BLOB_ID_LEN	64
/* What the bootstrap's head must hold: superblocks and device table. */
#define RAFS_HEAD_MIN		(RAFS_EXT_SB_OFFSET + RAFS_EXT_SB_SIZE)
#define RAFS_MAX_BLOBS		256
#define RAFS_MAX_CHUNK_SIZE	(16U << 20)
#define RAFS_MAX_CHUNKS		(1U << 24)

/* Blob compressors (blob table, blob meta header). */
enum rafs_compressor {
	RAFS_COMP_NONE = 0,
	RAFS_COMP_LZ4_BLOCK = 1,
	RAFS_COMP_GZIP = 2,
	RAFS_COMP_ZSTD = 3,
};

enum rafs_digester {
	RAFS_DIGEST_BLAKE3 = 0,
	RAFS_DIGEST_SHA256 = 1,
};

/* BlobFeatures */
#define RAFS_BLOB_ALIGNED		0x00000001U
#define RAFS_BLOB_INLINED_FS_META	0x00000002U
#define RAFS_BLOB_CHUNK_INFO_V2		0x00000004U
#define RAFS_BLOB_ZRAN			0x00000008U
#define RAFS_BLOB_SEPARATE		0x00000010U
#define RAFS_BLOB_INLINED_CHUNK_DIGEST	0x00000020U
#define RAFS_BLOB_TARFS			0x00000040U
#define RAFS_BLOB_BATCH			0x00000080U
#define RAFS_BLOB_ENCRYPTED		0x00000100U
#define RAFS_BLOB_CHUNKDICT_GENERATED	0x00000200U
#define RAFS_BLOB_SEPARATED_PREFETCH	0x00000400U
#define RAFS_BLOB_EXTERNAL		0x00000800U
#define RAFS_BLOB_HAS_TAR_HEADER	0x10000000U
#define RAFS_BLOB_HAS_TOC		0x20000000U
#define RAFS_BLOB_CAP_TAR_TOC		0x40000000U
#define RAFS_BLOB_INTERNAL		0x80000000U

/* The superblocks: what is needed to find and check the blob table. */
struct rafs_super {
	bool is_rafs;			/* false: a plain EROFS image */
	uint64_t flags;			/* ext sb flags */
	uint16_t extra_devices;
	uint16_t devt_slotoff;
	uint32_t chunk_size;
	uint64_t blob_table_offset;
	uint32_t blob_table_size;
	uint64_t chunk_table_offset;
	uint64_t chunk_table_size;
	uint64_t prefetch_table_offset;
	uint32_t prefetch_table_size;
	uint32_t meta_blkaddr;
	uint16_t root_nid;
};

/* One data blob of an image: an entry of the blob table. */
struct rafs_blob {
	char id[RAFS_BLOB_ID_LEN + 1];
	uint32_t index;
	uint32_t chunk_size;
	uint32_t chunk_count;
	uint32_t compressor;
	uint32_t digester;
	uint32_t features;
	uint64_t compressed_size;
	uint64_t uncompressed_size;	/* the cache file's size */
	uint32_t toc_size;
	uint32_t ci_compressor;
	uint64_t ci_offset;
	uint64_t ci_compressed_size;
	uint64_t ci_uncompressed_size;
	unsigned char toc_digest[32];
	/* SEPARATE: the blob holding the blob meta, hex of this digest. */
	unsigned char meta_digest[32];
	uint64_t meta_size;
	uint32_t cipher_algo;
};

/*
 * Parse the superblocks in @head, the bootstrap's first @len bytes of a
 * file of @file_size bytes. A plain EROFS image gives 0 with
 * !is_rafs. -EINVAL with the reason in @err for a bad or unsupported
 * (v5, tarfs) bootstrap.
 */
int rafs_super_parse(const void *head, size_t len, uint64_t file_size,
		     struct rafs_super *sb, char *err, size_t errlen);

/*
 * Parse the blob table (@len = sb->blob_table_size bytes) against the
 * device table in @head (@head_len bytes, it must reach past the last
 * slot). Fills @blobs (sb->extra_devices entries). An entry with
 * INLINED_FS_META (a bootstrap that was inlined in its blob) takes
 * @inlined_id, the id in the bootstrap's file name, as nydusd does: the
 * one inside may be stale or a placeholder (NULL: refused). -EINVAL with
 * @err naming the blob and the field for what fscached cannot serve.
 */
int rafs_blob_table_parse(const struct rafs_super *sb, const void *head,
			  size_t head_len, const void *table, size_t len,
			  const char *inlined_id, struct rafs_blob *blobs,
			  char *err, size_t errlen);

/*
 * Device @i's tag (the name the kernel opens its blob by): 1 to 64
 * printable bytes, no '/'. 0 or -EINVAL.
 */
int rafs_device_tag(const struct rafs_super *sb, const void *head,
		    size_t head_len, unsigned int i,
		    char tag[RAFS_BLOB_ID_LEN + 1]);

/* Where the device table ends: how much of the head the table needs. */
size_t rafs_device_table_end(const struct rafs_super *sb);
/* Where device @i's tag is in the bootstrap (a valid @i). */
size_t rafs_device_tag_offset(const struct rafs_super *sb, unsigned int i);

/* Bootstrap chunk table records (RafsV5ChunkInfo) */
#define RAFS_CHUNK_RECORD_SIZE	80

struct rafs_chunk_record {
	unsigned char digest[32];
	uint32_t blob_index;
	uint32_t index;		/* in the blob's ci array */
};

void rafs_chunk_record_decode(const void *rec, struct rafs_chunk_record *r);

const char *rafs_compressor_name(uint32_t c);
const char *rafs_digester_name(uint32_t d);

/* Bytes of chunk data at the start of the blob (before its metadata). */
uint64_t rafs_blob_data_size(const struct rafs_blob *b);

#endif
