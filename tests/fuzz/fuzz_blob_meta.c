// SPDX-License-Identifier: GPL-2.0
/*
 * A data blob's meta as OPEN fetches it: a blob table entry (the first
 * RAFS_BLOB_ENTRY_SIZE bytes, read as the bootstrap would give them; only
 * entries that pass the bootstrap's checks go on), then the stored ci
 * and its header. What parses must keep every chunk inside the blob.
 */
#include <stdlib.h>
#include <string.h>

#include "format/blob_meta.h"
#include "format/decompress.h"
#include "format/rafs.h"
#include "fuzz.h"

/* A one-blob bootstrap head around @entry, for the table parser's checks. */
static int entry_from(const uint8_t *entry, struct rafs_blob *b)
{
	static unsigned char head[0x600];
	struct rafs_super sb = {
		.is_rafs = true, .extra_devices = 1, .devt_slotoff = 11,
		.chunk_size = 0,
		.blob_table_size = RAFS_BLOB_ENTRY_SIZE,
	};
	char err[256];

	memcpy(head + 0x580, entry, 64);
	memcpy(&sb.chunk_size, entry + 68, 4);
	/* The device's blocks must match: take them from the entry. */
	head[0x580 + 64] = entry[97];
	head[0x580 + 65] = entry[98];
	head[0x580 + 66] = entry[99];
	head[0x580 + 67] = entry[100];
	return rafs_blob_table_parse(&sb, head, sizeof(head), entry,
				     RAFS_BLOB_ENTRY_SIZE, NULL, b, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *raw = data + RAFS_BLOB_ENTRY_SIZE;
	size_t raw_len = size - RAFS_BLOB_ENTRY_SIZE;
	struct blob_meta *m = NULL;
	struct rafs_blob b;
	unsigned char *ci;
	uint64_t data_size;
	char err[512];
	uint32_t i;

	if (size < RAFS_BLOB_ENTRY_SIZE || entry_from(data, &b))
		return 0;
	if (b.ci_compressed_size > raw_len ||
	    raw_len - b.ci_compressed_size < BLOB_META_HEADER_SIZE ||
	    b.ci_uncompressed_size > (16U << 20))
		return 0;
	ci = malloc(b.ci_uncompressed_size);
	if (!ci)
		return 0;
	data_size = rafs_blob_data_size(&b);
	if (!rafs_decompress(b.ci_compressor, raw, b.ci_compressed_size, ci,
			     b.ci_uncompressed_size) &&
	    !blob_meta_parse(&b, ci, b.ci_uncompressed_size,
			     raw + b.ci_compressed_size, data_size, &m, err,
			     sizeof(err))) {
		for (i = 0; i < m->nr_chunks; i++) {
			const struct blob_chunk *c = &m->chunks[i];

			FUZZ_CHECK(c->u_off % 4096 == 0);
			FUZZ_CHECK(blob_chunk_aligned_end(c) <= m->size);
			FUZZ_CHECK(c->u_size && c->u_size <= b.chunk_size);
			FUZZ_CHECK(i == 0 || c->u_off >= blob_chunk_aligned_end(c - 1));
			FUZZ_CHECK(blob_meta_find(m, c->u_off) == i);
			if (c->flags & CHUNK_BATCH)
				FUZZ_CHECK(c->ctx < m->nr_batches);
			else if (c->flags & CHUNK_ZRAN)
				FUZZ_CHECK(c->ctx < m->nr_zran);
			else
				FUZZ_CHECK(c->c_off + c->c_size <= m->data_size);
		}
		blob_meta_free(m);
	}
	free(ci);
	return 0;
}
