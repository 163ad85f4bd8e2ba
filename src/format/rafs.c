// SPDX-License-Identifier: GPL-2.0
/*
 * RAFS v6 bootstraps. Every field is checked before use: what a hostile or
 * broken image says must not reach the data path unbounded.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "lib/errmsg.h"
#include "rafs.h"

#define EROFS_MAGIC		0xE0F5E1E2U
#define RAFS_V5_MAGIC		0x52414653U	/* "SFAR": v5 superblock at 0 */
#define COMPAT_RAFS_V6		0x40000000U
#define INCOMPAT_RAFS_V6	0x0000000CU	/* CHUNKED_FILE | DEVICE_TABLE */
#define DEVICE_SLOT_SIZE	128

/* Ext sb flags */
#define FLAG_TARFS_MODE		0x200ULL
#define FLAG_ENCRYPTION_XTS	0x02000000ULL

/* Low feature bits fscached (and nydus) know of. */
#define FEATURES_KNOWN_LOW	0x0FFFU

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

const char *rafs_compressor_name(uint32_t c)
{
	static const char *const names[] = { "none", "lz4_block", "gzip", "zstd" };

	return c < 4 ? names[c] : "unknown";
}

const char *rafs_digester_name(uint32_t d)
{
	return d == RAFS_DIGEST_BLAKE3 ? "blake3" :
	       d == RAFS_DIGEST_SHA256 ? "sha256" : "unknown";
}

size_t rafs_device_table_end(const struct rafs_super *sb)
{
	return ((size_t)sb->devt_slotoff + sb->extra_devices) * DEVICE_SLOT_SIZE;
}

size_t rafs_device_tag_offset(const struct rafs_super *sb, unsigned int i)
{
	return ((size_t)sb->devt_slotoff + i) * DEVICE_SLOT_SIZE;
}

int rafs_super_parse(const void *head, size_t len, uint64_t file_size,
		     struct rafs_super *sb, char *err, size_t errlen)
{
	const unsigned char *p = head;
	const unsigned char *x = p + RAFS_EXT_SB_OFFSET;
	uint32_t compat, incompat;

	memset(sb, 0, sizeof(*sb));
	if (len >= 4 && get_le32(p) == RAFS_V5_MAGIC)
		return err_einval(err, errlen,
			    "a RAFS v5 bootstrap: only v6 can be served through fscache (convert it with nydus-image --fs-version 6)");
	if (len < RAFS_HEAD_MIN || get_le32(p + 0x400) != EROFS_MAGIC)
		return err_einval(err, errlen, "not an EROFS or RAFS v6 bootstrap (no superblock magic at 0x400)");
	compat = get_le32(p + 0x408);
	if (!(compat & COMPAT_RAFS_V6))
		return 0;	/* plain EROFS */
	sb->is_rafs = true;
	if (p[0x40C] != 12)
		return err_einval(err, errlen, "superblock blkszbits %u: RAFS v6 over fscache needs 4 KiB blocks (tarfs images are not supported)",
			    p[0x40C]);
	if (file_size == 0 || file_size % 4096)
		return err_einval(err, errlen, "bootstrap size %llu is not a multiple of 4096",
			    (unsigned long long)file_size);
	incompat = get_le32(p + 0x450);
	if (incompat != INCOMPAT_RAFS_V6)
		return err_einval(err, errlen, "superblock feature_incompat 0x%x: RAFS v6 has 0x%x",
			    incompat, INCOMPAT_RAFS_V6);
	sb->root_nid = get_le16(p + 0x40E);
	sb->meta_blkaddr = get_le32(p + 0x428);
	sb->extra_devices = get_le16(p + 0x456);
	sb->devt_slotoff = get_le16(p + 0x458);
	sb->flags = get_le64(x + 0x00);
	sb->blob_table_offset = get_le64(x + 0x08);
	sb->blob_table_size = get_le32(x + 0x10);
	sb->chunk_size = get_le32(x + 0x14);
	sb->chunk_table_offset = get_le64(x + 0x18);
	sb->chunk_table_size = get_le64(x + 0x20);
	sb->prefetch_table_offset = get_le64(x + 0x28);
	sb->prefetch_table_size = get_le32(x + 0x30);

	if (sb->flags & FLAG_TARFS_MODE)
		return err_einval(err, errlen, "ext superblock flags 0x%llx: tarfs images are not supported",
			    (unsigned long long)sb->flags);
	if (!sb->extra_devices || sb->extra_devices > RAFS_MAX_BLOBS)
		return err_einval(err, errlen, "superblock extra_devices %u: 1 to %u data blobs are supported",
			    sb->extra_devices, RAFS_MAX_BLOBS);
	if ((uint64_t)sb->devt_slotoff * DEVICE_SLOT_SIZE < RAFS_HEAD_MIN)
		return err_einval(err, errlen, "superblock devt_slotoff %u overlaps the superblocks",
			    sb->devt_slotoff);
	if (!is_pow2(sb->chunk_size) || sb->chunk_size < 4096 ||
	    sb->chunk_size > RAFS_MAX_CHUNK_SIZE)
		return err_einval(err, errlen, "ext superblock chunk_size %u: a power of two from 4 KiB to 16 MiB",
			    sb->chunk_size);
	if (sb->blob_table_size % RAFS_BLOB_ENTRY_SIZE ||
	    sb->blob_table_size / RAFS_BLOB_ENTRY_SIZE != sb->extra_devices)
		return err_einval(err, errlen, "ext superblock blob_table_size %u: %u devices need %u bytes",
			    sb->blob_table_size, sb->extra_devices,
			    sb->extra_devices * RAFS_BLOB_ENTRY_SIZE);
	if (sb->blob_table_offset < rafs_device_table_end(sb) ||
	    sb->blob_table_offset > file_size ||
	    file_size - sb->blob_table_offset < sb->blob_table_size)
		return err_einval(err, errlen, "ext superblock blob_table_offset 0x%llx is outside the bootstrap",
			    (unsigned long long)sb->blob_table_offset);
	if (sb->chunk_table_size % RAFS_CHUNK_RECORD_SIZE ||
	    sb->chunk_table_offset > file_size ||
	    file_size - sb->chunk_table_offset < sb->chunk_table_size)
		return err_einval(err, errlen, "ext superblock chunk table (0x%llx, %llu bytes) is outside the bootstrap or not of 80-byte records",
			    (unsigned long long)sb->chunk_table_offset,
			    (unsigned long long)sb->chunk_table_size);
	if (sb->prefetch_table_size % 4 ||
	    (sb->prefetch_table_size &&
	     (sb->prefetch_table_offset > file_size ||
	      file_size - sb->prefetch_table_offset < sb->prefetch_table_size)))
		return err_einval(err, errlen, "ext superblock prefetch table (0x%llx, %u bytes) is outside the bootstrap",
			    (unsigned long long)sb->prefetch_table_offset,
			    sb->prefetch_table_size);
	return 0;
}

static bool blob_id_hex(const char *id)
{
	size_t i;

	for (i = 0; i < RAFS_BLOB_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static void blob_entry_decode(const unsigned char *e, struct rafs_blob *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->id, e, RAFS_BLOB_ID_LEN);
	b->index = get_le32(e + 64);
	b->chunk_size = get_le32(e + 68);
	b->chunk_count = get_le32(e + 72);
	b->compressor = get_le32(e + 76);
	b->digester = get_le32(e + 80);
	b->features = get_le32(e + 84);
	b->compressed_size = get_le64(e + 88);
	b->uncompressed_size = get_le64(e + 96);
	b->toc_size = get_le32(e + 104);
	b->ci_compressor = get_le32(e + 108);
	b->ci_offset = get_le64(e + 112);
	b->ci_compressed_size = get_le64(e + 120);
	b->ci_uncompressed_size = get_le64(e + 128);
	memcpy(b->toc_digest, e + 136, 32);
	memcpy(b->meta_digest, e + 168, 32);
	b->meta_size = get_le64(e + 200);
	b->cipher_algo = get_le32(e + 216);
}

/* The ci array's size rule of nydus' RafsV6Blob::validate. */
static int blob_check_ci(const struct rafs_blob *b, char *err, size_t errlen)
{
	bool v2 = b->features & RAFS_BLOB_CHUNK_INFO_V2;
	bool extra = b->features & (RAFS_BLOB_BATCH | RAFS_BLOB_ZRAN);
	uint64_t rec = v2 ? 24 : 16, need = rec * b->chunk_count;

	if (!b->ci_compressed_size || !b->ci_uncompressed_size)
		return err_einval(err, errlen, "blob %s: ci_compressed_size/ci_uncompressed_size are 0: a blob without blob meta cannot be served through fscache (rebuild it with nydus-image 2.1 or later)",
			    b->id);
	if (b->ci_compressor > RAFS_COMP_ZSTD)
		return err_einval(err, errlen, "blob %s: ci_compressor %u is unknown",
			    b->id, b->ci_compressor);
	if (b->ci_compressed_size > b->ci_uncompressed_size ||
	    (b->ci_compressor == RAFS_COMP_NONE &&
	     b->ci_compressed_size != b->ci_uncompressed_size))
		return err_einval(err, errlen, "blob %s: ci_compressed_size %llu does not fit ci_uncompressed_size %llu (ci_compressor %s)",
			    b->id, (unsigned long long)b->ci_compressed_size,
			    (unsigned long long)b->ci_uncompressed_size,
			    rafs_compressor_name(b->ci_compressor));
	/* Records plus at most a context table and its dictionaries. */
	if (b->ci_uncompressed_size > need + (256ULL << 20))
		return err_einval(err, errlen, "blob %s: ci_uncompressed_size %llu is too large",
			    b->id, (unsigned long long)b->ci_uncompressed_size);
	if (!v2 && extra)
		return err_einval(err, errlen, "blob %s: features 0x%x: batch and zran chunks need CHUNK_INFO_V2",
			    b->id, b->features);
	if (b->features & RAFS_BLOB_CHUNKDICT_GENERATED)
		return 0;
	if (extra ? b->ci_uncompressed_size < need
		  : b->ci_uncompressed_size != need)
		return err_einval(err, errlen, "blob %s: ci_uncompressed_size %llu does not fit chunk_count %u (%llu bytes of records)",
			    b->id, (unsigned long long)b->ci_uncompressed_size,
			    b->chunk_count, (unsigned long long)need);
	return 0;
}

static int blob_check(const struct rafs_super *sb, const struct rafs_blob *b,
		      unsigned int i, const unsigned char *slot, char *err,
		      size_t errlen)
{
	uint32_t blocks = get_le32(slot + 64);
	uint32_t unknown = b->features & 0xFFFFU & ~FEATURES_KNOWN_LOW;
	bool inlined = b->features & RAFS_BLOB_INLINED_FS_META;

	if (!blob_id_hex(b->id))
		return err_einval(err, errlen, "blob table entry %u: blob_id is not 64 hex digits",
			    i);
	/* An inlined bootstrap's tag is its blob's old name (or a placeholder). */
	if (!inlined && memcmp(slot, b->id, RAFS_BLOB_ID_LEN))
		return err_einval(err, errlen, "blob %s: blob_id differs from device %u's tag %.64s",
			    b->id, i + 1, (const char *)slot);
	if (b->index != i)
		return err_einval(err, errlen, "blob %s: blob_index %u at table position %u",
			    b->id, b->index, i);
	if (b->chunk_size != sb->chunk_size)
		return err_einval(err, errlen, "blob %s: chunk_size %u differs from the superblock's %u",
			    b->id, b->chunk_size, sb->chunk_size);
	if (!b->chunk_count || b->chunk_count > RAFS_MAX_CHUNKS)
		return err_einval(err, errlen, "blob %s: chunk_count %u: 1 to 2^24 chunks",
			    b->id, b->chunk_count);
	if (b->compressor > RAFS_COMP_ZSTD)
		return err_einval(err, errlen, "blob %s: compressor %u is unknown (none, lz4_block, gzip and zstd are supported)",
			    b->id, b->compressor);
	if (b->digester > RAFS_DIGEST_SHA256)
		return err_einval(err, errlen, "blob %s: digester %u is unknown (blake3 and sha256 are supported)",
			    b->id, b->digester);
	if ((b->features & RAFS_BLOB_ENCRYPTED) || b->cipher_algo ||
	    (sb->flags & FLAG_ENCRYPTION_XTS))
		return err_einval(err, errlen, "blob %s: features 0x%x cipher_algo %u: encrypted blobs are not supported (fscached has no key for them)",
			    b->id, b->features, b->cipher_algo);
	if (unknown || (b->features & RAFS_BLOB_INTERNAL))
		return err_einval(err, errlen, "blob %s: features 0x%x has bits fscached does not know (0x%x)",
			    b->id, b->features,
			    unknown | (b->features & RAFS_BLOB_INTERNAL));
	if (b->features & (RAFS_BLOB_TARFS | RAFS_BLOB_EXTERNAL))
		return err_einval(err, errlen, "blob %s: features 0x%x: tarfs and external blobs are not supported",
			    b->id, b->features);
	if (!(b->features & RAFS_BLOB_ALIGNED))
		return err_einval(err, errlen, "blob %s: features 0x%x lack ALIGNED: unaligned chunks cannot be served through fscache",
			    b->id, b->features);
	if (!b->uncompressed_size || b->uncompressed_size % 4096 ||
	    b->uncompressed_size / 4096 != blocks)
		return err_einval(err, errlen, "blob %s: uncompressed_size %llu does not match device %u's %u blocks",
			    b->id, (unsigned long long)b->uncompressed_size,
			    i + 1, blocks);
	if ((b->features & RAFS_BLOB_ZRAN) && !(b->features & RAFS_BLOB_SEPARATE))
		return err_einval(err, errlen, "blob %s: features 0x%x: zran without SEPARATE",
			    b->id, b->features);
	return blob_check_ci(b, err, errlen);
}

int rafs_blob_table_parse(const struct rafs_super *sb, const void *head,
			  size_t head_len, const void *table, size_t len,
			  const char *inlined_id, struct rafs_blob *blobs,
			  char *err, size_t errlen)
{
	const unsigned char *h = head, *t = table;
	unsigned int i, j, holder = UINT_MAX;
	int ret;

	if (head_len < rafs_device_table_end(sb))
		return err_einval(err, errlen, "the device table ends past the bootstrap's head");
	if (len != sb->blob_table_size)
		return err_einval(err, errlen, "blob table: %zu bytes, the superblock says %u",
			    len, sb->blob_table_size);
	for (i = 0; i < sb->extra_devices; i++) {
		const unsigned char *slot = h + rafs_device_tag_offset(sb, i);

		blob_entry_decode(t + (size_t)i * RAFS_BLOB_ENTRY_SIZE, &blobs[i]);
		if (blobs[i].features & RAFS_BLOB_INLINED_FS_META) {
			if (!inlined_id)
				return err_einval(err, errlen, "blob table entry %u: features 0x%x has INLINED_FS_META, and the bootstrap's file name is no blob id: bind the data blob it came from, named by its id, as the bootstrap",
					    i, blobs[i].features);
			if (holder != UINT_MAX)
				return err_einval(err, errlen, "blob table entries %u and %u both have INLINED_FS_META: one blob holds the bootstrap",
					    holder, i);
			holder = i;
			memcpy(blobs[i].id, inlined_id, RAFS_BLOB_ID_LEN);
		}
		ret = blob_check(sb, &blobs[i], i, slot, err, errlen);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (!strcmp(blobs[j].id, blobs[i].id))
				return err_einval(err, errlen, "blob %s: listed twice in the blob table",
					    blobs[i].id);
	}
	return 0;
}

int rafs_device_tag(const struct rafs_super *sb, const void *head,
		    size_t head_len, unsigned int i, char tag[RAFS_BLOB_ID_LEN + 1])
{
	const unsigned char *slot = (const unsigned char *)head +
				    rafs_device_tag_offset(sb, i);
	size_t n;

	if (i >= sb->extra_devices || head_len < rafs_device_table_end(sb))
		return -EINVAL;
	for (n = 0; n < RAFS_BLOB_ID_LEN && slot[n]; n++)
		if (slot[n] <= ' ' || slot[n] > '~' || slot[n] == '/')
			return -EINVAL;
	if (!n)
		return -EINVAL;
	memcpy(tag, slot, n);
	tag[n] = '\0';
	return 0;
}

void rafs_chunk_record_decode(const void *rec, struct rafs_chunk_record *r)
{
	const unsigned char *p = rec;

	memcpy(r->digest, p, 32);
	r->blob_index = get_le32(p + 32);
	r->index = get_le32(p + 72);
}

uint64_t rafs_blob_data_size(const struct rafs_blob *b)
{
	if (b->features & RAFS_BLOB_SEPARATE)
		return b->compressed_size;
	if (b->features & RAFS_BLOB_HAS_TAR_HEADER)
		return b->ci_offset >= 512 ? b->ci_offset - 512 : 0;
	return b->ci_offset;
}
