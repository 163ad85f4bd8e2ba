// SPDX-License-Identifier: GPL-2.0
/*
 * A RAFS v6 bootstrap's head, as PUT /api/v2/blobs reads it from
 * metadata_path: superblocks, device table and (when it lies within the
 * input) the blob table.
 */
#include <string.h>

#include "format/rafs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rafs_blob blobs[RAFS_MAX_BLOBS];
	struct rafs_super sb;
	char err[512];
	unsigned int i;

	/* The file may be longer than what was read of it. */
	if (rafs_super_parse(data, size, size + (size % 7) * 4096, &sb, err,
			     sizeof(err)) || !sb.is_rafs)
		return 0;
	FUZZ_CHECK(sb.extra_devices && sb.extra_devices <= RAFS_MAX_BLOBS);
	if (sb.blob_table_offset > size ||
	    size - sb.blob_table_offset < sb.blob_table_size)
		return 0;
	/* An INLINED_FS_META entry takes this id, as from a blob's file name. */
	if (rafs_blob_table_parse(&sb, data, size, data + sb.blob_table_offset,
				  sb.blob_table_size,
				  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				  blobs, err, sizeof(err)))
		return 0;
	for (i = 0; i < sb.extra_devices; i++) {
		FUZZ_CHECK(strlen(blobs[i].id) == RAFS_BLOB_ID_LEN);
		FUZZ_CHECK(blobs[i].uncompressed_size % 4096 == 0);
		FUZZ_CHECK(blobs[i].uncompressed_size);
		FUZZ_CHECK(blobs[i].chunk_count && blobs[i].chunk_count <= RAFS_MAX_CHUNKS);
		FUZZ_CHECK(blobs[i].compressor <= RAFS_COMP_ZSTD);
		FUZZ_CHECK(!(blobs[i].features & RAFS_BLOB_ENCRYPTED));
		FUZZ_CHECK(blobs[i].ci_uncompressed_size);
	}
	return 0;
}
