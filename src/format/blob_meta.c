// SPDX-License-Identifier: GPL-2.0
/*
 * Chunk-info arrays. Every record is bounded here, once, so that the data
 * path can trust offsets and sizes: u_off aligned and ordered, sizes up to
 * the chunk size, compressed ranges inside the blob's chunk data, batch
 * and ZRan references inside their tables.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_meta.h"
#include "bytes.h"
#include "lib/errmsg.h"

#define HDR_MAGIC		0
#define HDR_FEATURES		4
#define HDR_CI_COMPRESSOR	8
#define HDR_CI_ENTRIES		12
#define HDR_CI_OFFSET		16
#define HDR_CI_COMPRESSED	24
#define HDR_CI_UNCOMPRESSED	32
#define HDR_EXTRA_OFFSET	40
#define HDR_EXTRA_SIZE		48
#define HDR_EXTRA_COUNT		56
#define HDR_MAGIC2		4092

#define BATCH_ENTRY_SIZE	40
#define ZRAN_ENTRY_SIZE		40
#define ZRAN_DICT_MAX		32768
#define ZRAN_OUT_MAX		(64U << 20)
#define ZRAN_IN_MAX		(64U << 20)
#define BATCH_MAX		(16U << 20)

int blob_meta_header_check(const struct rafs_blob *b, const void *hdr,
			   char *err, size_t errlen)
{
	const unsigned char *h = hdr;

	if (get_le32(h + HDR_MAGIC) != BLOB_META_MAGIC ||
	    get_le32(h + HDR_MAGIC2) != BLOB_META_MAGIC)
		return err_einval(err, errlen, "blob %s: blob meta header at 0x%llx has no magic (0x%08x, 0x%08x): not a nydus blob meta",
			    b->id,
			    (unsigned long long)(b->ci_offset + b->ci_compressed_size),
			    get_le32(h + HDR_MAGIC), get_le32(h + HDR_MAGIC2));
	if (get_le32(h + HDR_CI_COMPRESSOR) != b->ci_compressor ||
	    get_le32(h + HDR_CI_ENTRIES) != b->chunk_count ||
	    get_le64(h + HDR_CI_OFFSET) != b->ci_offset ||
	    get_le64(h + HDR_CI_COMPRESSED) != b->ci_compressed_size ||
	    get_le64(h + HDR_CI_UNCOMPRESSED) != b->ci_uncompressed_size)
		return err_einval(err, errlen, "blob %s: blob meta header (ci_compressor %u, entries %u, ci_offset %llu, sizes %llu/%llu) differs from the bootstrap's blob table (%u, %u, %llu, %llu/%llu)",
			    b->id, get_le32(h + HDR_CI_COMPRESSOR),
			    get_le32(h + HDR_CI_ENTRIES),
			    (unsigned long long)get_le64(h + HDR_CI_OFFSET),
			    (unsigned long long)get_le64(h + HDR_CI_COMPRESSED),
			    (unsigned long long)get_le64(h + HDR_CI_UNCOMPRESSED),
			    b->ci_compressor, b->chunk_count,
			    (unsigned long long)b->ci_offset,
			    (unsigned long long)b->ci_compressed_size,
			    (unsigned long long)b->ci_uncompressed_size);
	return 0;
}

static void chunk_decode_v1(const unsigned char *r, struct blob_chunk *c)
{
	uint64_t ui = get_le64(r), ci = get_le64(r + 8);

	c->u_off = ui & 0x00000FFFFFFFF000ULL;
	c->u_size = (uint32_t)(((ui >> 44) & 0xFFFFF) | ((ui >> 8) & 0xF) << 20) + 1;
	c->c_off = ci & 0xFFFFFFFFFFULL;
	c->c_size = (uint32_t)(((ci >> 44) & 0xFFFFF) | ((ci >> 40) & 0xF) << 20) + 1;
	c->flags = c->c_size != c->u_size ? CHUNK_COMPRESSED : 0;
	c->aux = 0;
	c->ctx = 0;
}

static void chunk_decode_v2(const unsigned char *r, struct blob_chunk *c)
{
	uint64_t ui = get_le64(r), ci = get_le64(r + 8), data = get_le64(r + 16);

	c->u_off = (ui & 0xFFFFFFFFULL) << 12;
	c->u_size = (uint32_t)((ui >> 32) & 0xFFFFFF) + 1;
	c->flags = (uint8_t)(ui >> 56);
	c->c_off = ci & 0xFFFFFFFFFFULL;
	c->c_size = (uint32_t)(ci >> 40);
	c->ctx = (uint32_t)(data >> 32);
	c->aux = (uint32_t)data;
}

static int parse_batches(struct blob_meta *m, const struct rafs_blob *b,
			 const unsigned char *ci, size_t len,
			 const unsigned char *h, char *err, size_t errlen)
{
	uint64_t off = get_le64(h + HDR_EXTRA_OFFSET);
	uint32_t count = get_le32(h + HDR_EXTRA_COUNT), i;
	const unsigned char *e;

	if (off < (uint64_t)m->nr_chunks * 24 || off > len ||
	    (len - off) / BATCH_ENTRY_SIZE < count)
		return err_einval(err, errlen, "blob %s: batch table (offset %llu, %u entries) is outside the ci data (%zu bytes)",
			    b->id, (unsigned long long)off, count, len);
	m->batches = calloc(count ? count : 1, sizeof(*m->batches));
	if (!m->batches)
		return -ENOMEM;
	m->nr_batches = count;
	for (i = 0; i < count; i++) {
		e = ci + off + (size_t)i * BATCH_ENTRY_SIZE;
		m->batches[i].c_size = get_le32(e);
		m->batches[i].u_size = get_le32(e + 4);
		if (!m->batches[i].c_size || !m->batches[i].u_size ||
		    m->batches[i].u_size > BATCH_MAX ||
		    m->batches[i].c_size > m->batches[i].u_size)
			return err_einval(err, errlen, "blob %s: batch %u: sizes %u/%u out of bounds",
				    b->id, i, m->batches[i].c_size,
				    m->batches[i].u_size);
	}
	return 0;
}

static int parse_zran(struct blob_meta *m, const struct rafs_blob *b,
		      const unsigned char *ci, size_t len,
		      const unsigned char *h, char *err, size_t errlen)
{
	uint64_t off = get_le64(h + HDR_EXTRA_OFFSET);
	uint64_t size = get_le64(h + HDR_EXTRA_SIZE);
	uint32_t count = get_le32(h + HDR_EXTRA_COUNT), i;
	uint64_t table, dict_end;
	const unsigned char *e;
	struct blob_zran *z;

	table = (uint64_t)count * ZRAN_ENTRY_SIZE;
	if (off < (uint64_t)m->nr_chunks * 24 || off > len || size > len - off ||
	    table > size)
		return err_einval(err, errlen, "blob %s: zran table (offset %llu, %llu bytes, %u contexts) is outside the ci data (%zu bytes)",
			    b->id, (unsigned long long)off,
			    (unsigned long long)size, count, len);
	m->zran = calloc(count ? count : 1, sizeof(*m->zran));
	m->dicts_len = size - table;
	m->dicts = malloc(m->dicts_len ? m->dicts_len : 1);
	if (!m->zran || !m->dicts)
		return -ENOMEM;
	memcpy(m->dicts, ci + off + table, m->dicts_len);
	m->nr_zran = count;
	for (i = 0; i < count; i++) {
		e = ci + off + (size_t)i * ZRAN_ENTRY_SIZE;
		z = &m->zran[i];
		z->in_offset = get_le64(e);
		z->out_offset = get_le64(e + 8);
		dict_end = get_le64(e + 16);
		z->in_len = get_le32(e + 24);
		z->out_len = get_le32(e + 28);
		z->dict_size = get_le32(e + 32);
		z->ctx_byte = e[36];
		z->ctx_bits = e[37];
		if (dict_end > m->dicts_len || z->dict_size > ZRAN_DICT_MAX ||
		    m->dicts_len - dict_end < z->dict_size)
			return err_einval(err, errlen, "blob %s: zran context %u: dictionary (%llu, %u bytes) is outside the table",
				    b->id, i, (unsigned long long)dict_end,
				    z->dict_size);
		z->dict_off = (uint32_t)dict_end;
		if (!z->in_len || !z->out_len || z->out_len > ZRAN_OUT_MAX ||
		    z->in_len > ZRAN_IN_MAX ||
		    z->in_offset > m->data_size ||
		    m->data_size - z->in_offset < z->in_len || z->ctx_bits > 7)
			return err_einval(err, errlen, "blob %s: zran context %u: input (%llu, %u bytes), output %u bytes or ctx_bits %u out of bounds",
				    b->id, i, (unsigned long long)z->in_offset,
				    z->in_len, z->out_len, z->ctx_bits);
	}
	return 0;
}

/* One record against the blob and the records before it. */
static int chunk_check(const struct blob_meta *m, const struct rafs_blob *b,
		       uint32_t i, uint64_t prev_end, char *err, size_t errlen)
{
	const struct blob_chunk *c = &m->chunks[i];
	uint64_t c_size = c->c_size;
	bool v2 = b->features & RAFS_BLOB_CHUNK_INFO_V2;

	/*
	 * Native chunks follow each other with no hole; ZRan blobs may have
	 * holes (chunks deduplicated after the context was cut).
	 */
	if (c->u_off % 4096 || c->u_off < prev_end ||
	    (!blob_meta_may_have_holes(m) && c->u_off != prev_end))
		return err_einval(err, errlen, "blob %s: chunk %u: u_off 0x%llx is unaligned or before the end of chunk %u (0x%llx)",
			    b->id, i, (unsigned long long)c->u_off, i - 1,
			    (unsigned long long)prev_end);
	if (c->u_size > b->chunk_size ||
	    blob_chunk_aligned_end(c) > m->size)
		return err_einval(err, errlen, "blob %s: chunk %u: u_size %u at 0x%llx is past the chunk size %u or uncompressed_size %llu",
			    b->id, i, c->u_size, (unsigned long long)c->u_off,
			    b->chunk_size, (unsigned long long)m->size);
	if (c->flags & ~(CHUNK_COMPRESSED | CHUNK_ZRAN | CHUNK_BATCH |
			 CHUNK_HAS_CRC32))
		return err_einval(err, errlen, "blob %s: chunk %u: flags 0x%x (encrypted or unknown)",
			    b->id, i, c->flags);
	if (((c->flags & CHUNK_ZRAN) && !(b->features & RAFS_BLOB_ZRAN)) ||
	    ((c->flags & CHUNK_BATCH) && !(b->features & RAFS_BLOB_BATCH)) ||
	    ((c->flags & CHUNK_BATCH) && (c->flags & (CHUNK_ZRAN | CHUNK_HAS_CRC32))))
		return err_einval(err, errlen, "blob %s: chunk %u: flags 0x%x do not fit the blob's features 0x%x",
			    b->id, i, c->flags, b->features);
	/* The data field is the ZRan offset then: no room for a CRC. */
	if ((c->flags & CHUNK_HAS_CRC32) && (c->flags & CHUNK_ZRAN))
		return err_einval(err, errlen, "blob %s: chunk %u: HAS_CRC32 on a zran chunk",
			    b->id, i);
	if ((c->flags & CHUNK_HAS_CRC32) && !c->aux)
		return err_einval(err, errlen, "blob %s: chunk %u: HAS_CRC32 with crc 0",
			    b->id, i);
	if (c->flags & CHUNK_ZRAN) {
		const struct blob_zran *z;

		if (c->ctx >= m->nr_zran)
			return err_einval(err, errlen, "blob %s: chunk %u: zran context %u of %u",
				    b->id, i, c->ctx, m->nr_zran);
		z = &m->zran[c->ctx];
		if ((uint64_t)c->aux + c->u_size > z->out_len)
			return err_einval(err, errlen, "blob %s: chunk %u: [%u, +%u) is outside zran context %u's %u bytes",
				    b->id, i, c->aux, c->u_size, c->ctx, z->out_len);
		return 0;
	}
	if (c->flags & CHUNK_BATCH) {
		const struct blob_batch *bt;

		if (c->ctx >= m->nr_batches)
			return err_einval(err, errlen, "blob %s: chunk %u: batch %u of %u",
				    b->id, i, c->ctx, m->nr_batches);
		bt = &m->batches[c->ctx];
		if ((uint64_t)c->aux + c->u_size > bt->u_size)
			return err_einval(err, errlen, "blob %s: chunk %u: [%u, +%u) is outside batch %u's %u bytes",
				    b->id, i, c->aux, c->u_size, c->ctx, bt->u_size);
		c_size = bt->c_size;
	} else if (!c->c_size || c->c_size > c->u_size ||
		   (v2 && !(c->flags & CHUNK_COMPRESSED) &&
		    c->c_size != c->u_size) ||
		   ((c->flags & CHUNK_COMPRESSED) && c->c_size == c->u_size && !v2)) {
		return err_einval(err, errlen, "blob %s: chunk %u: c_size %u with u_size %u and flags 0x%x",
			    b->id, i, c->c_size, c->u_size, c->flags);
	}
	if (c->c_off > m->data_size || m->data_size - c->c_off < c_size)
		return err_einval(err, errlen, "blob %s: chunk %u: compressed [0x%llx, +%llu) is past the blob's %llu bytes of chunk data",
			    b->id, i, (unsigned long long)c->c_off,
			    (unsigned long long)c_size,
			    (unsigned long long)m->data_size);
	return 0;
}

int blob_meta_parse(const struct rafs_blob *b, const void *ci, size_t len,
		    const void *hdr, uint64_t data_size,
		    struct blob_meta **out, char *err, size_t errlen)
{
	const unsigned char *p = ci, *h = hdr;
	bool v2 = b->features & RAFS_BLOB_CHUNK_INFO_V2;
	size_t rec = v2 ? 24 : 16;
	uint64_t prev_end = 0;
	struct blob_meta *m;
	uint32_t i;
	int ret;

	ret = blob_meta_header_check(b, hdr, err, errlen);
	if (ret)
		return ret;
	if (len != b->ci_uncompressed_size || len / rec < b->chunk_count)
		return err_einval(err, errlen, "blob %s: ci data is %zu bytes, %u records of %zu need %llu",
			    b->id, len, b->chunk_count, rec,
			    (unsigned long long)b->chunk_count * rec);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->features = b->features;
	m->size = b->uncompressed_size;
	m->data_size = data_size;
	m->nr_chunks = b->chunk_count;
	m->chunks = calloc(m->nr_chunks, sizeof(*m->chunks));
	if (!m->chunks) {
		ret = -ENOMEM;
		goto err;
	}
	if (b->features & RAFS_BLOB_ZRAN)
		ret = parse_zran(m, b, p, len, h, err, errlen);
	else if (b->features & RAFS_BLOB_BATCH)
		ret = parse_batches(m, b, p, len, h, err, errlen);
	if (ret)
		goto err;
	for (i = 0; i < m->nr_chunks; i++) {
		if (v2)
			chunk_decode_v2(p + (size_t)i * rec, &m->chunks[i]);
		else
			chunk_decode_v1(p + (size_t)i * rec, &m->chunks[i]);
		ret = chunk_check(m, b, i, prev_end, err, errlen);
		if (ret)
			goto err;
		prev_end = blob_chunk_aligned_end(&m->chunks[i]);
	}
	if (!blob_meta_may_have_holes(m) && prev_end != m->size) {
		ret = err_einval(err, errlen, "blob %s: its chunks end at %llu, uncompressed_size is %llu",
			   b->id, (unsigned long long)prev_end,
			   (unsigned long long)m->size);
		goto err;
	}
	*out = m;
	return 0;

err:
	blob_meta_free(m);
	return ret;
}

void blob_meta_free(struct blob_meta *m)
{
	if (!m)
		return;
	free(m->chunks);
	free(m->batches);
	free(m->zran);
	free(m->dicts);
	free(m);
}

uint32_t blob_meta_find(const struct blob_meta *m, uint64_t addr)
{
	uint32_t lo = 0, hi = m->nr_chunks;

	/* Chunks are ordered and disjoint: their aligned ends increase. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (blob_chunk_aligned_end(&m->chunks[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
