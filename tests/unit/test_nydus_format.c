// SPDX-License-Identifier: GPL-2.0
/*
 * RAFS v6 bootstraps and blob meta against the bytes of real nydus images:
 * the worked example of nydus' tests/texture (rafs-v6-2.2.boot and its
 * zstd blob be7d77ee...), rebuilt field by field from what that image
 * holds; then each field a hostile image could abuse.
 */
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/compiler.h"
#include "lib/digest.h"
#include "format/blob_meta.h"
#include "format/decompress.h"
#include "format/rafs.h"
#include "harness.h"

#define BOOT_SIZE	20480
static const char blob_id[] =
	"be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";

/* The two v1 records of the example blob's ci, as stored. */
static const unsigned char example_ci[32] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x22, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x2d, 0x01,
	0x00, 0x50, 0x00, 0x00, 0x00, 0x70, 0x45, 0x03,
	0xdc, 0x12, 0x00, 0x00, 0x00, 0xd0, 0xb9, 0x00,
};

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* The example bootstrap's superblocks, device slot and blob entry. */
static unsigned char *example_boot(void)
{
	unsigned char *b = calloc(1, BOOT_SIZE), *e = b + 0x1000;

	put32(b + 0x400, 0xE0F5E1E2);
	put32(b + 0x408, 0x40000000);
	b[0x40C] = 12;
	put16(b + 0x40E, 128);
	put64(b + 0x410, 3);
	put32(b + 0x424, 9);
	put32(b + 0x428, 2);
	put32(b + 0x450, 0xC);
	put16(b + 0x456, 1);
	put16(b + 0x458, 11);
	put64(b + 0x480, 0x194);
	put64(b + 0x488, 0x1000);
	put32(b + 0x490, 0x100);
	put32(b + 0x494, 0x100000);
	put64(b + 0x498, 0x4000);
	put64(b + 0x4A0, 0xA0);
	memcpy(b + 0x580, blob_id, 64);
	put32(b + 0x580 + 64, 9);
	put32(b + 0x580 + 68, 512);
	memcpy(e, blob_id, 64);
	put32(e + 64, 0);
	put32(e + 68, 0x100000);
	put32(e + 72, 2);
	put32(e + 76, 3);
	put32(e + 80, 0);
	put32(e + 84, 0x70000021);
	put64(e + 88, 14554);
	put64(e + 96, 36864);
	put32(e + 104, 1024);
	put32(e + 108, 0);
	put64(e + 112, 0x207A);
	put64(e + 120, 32);
	put64(e + 128, 32);
	return b;
}

static void example_header(unsigned char *h)
{
	memset(h, 0, BLOB_META_HEADER_SIZE);
	put32(h, BLOB_META_MAGIC);
	put32(h + 4, 0x70000021);
	put32(h + 8, 0);
	put32(h + 12, 2);
	put64(h + 16, 0x207A);
	put64(h + 24, 32);
	put64(h + 32, 32);
	put32(h + 4092, BLOB_META_MAGIC);
}

static int parse_boot(const unsigned char *boot, struct rafs_super *sb,
		      struct rafs_blob *blob, char *err, size_t errlen)
{
	int ret = rafs_super_parse(boot, 4096, BOOT_SIZE, sb, err, errlen);

	if (ret || !sb->is_rafs)
		return ret ? ret : -ENOENT;
	return rafs_blob_table_parse(sb, boot, 4096, boot + sb->blob_table_offset,
				     sb->blob_table_size, NULL, blob, err, errlen);
}

TEST(example_bootstrap_parses)
{
	unsigned char *boot = example_boot();
	struct rafs_super sb;
	struct rafs_blob blob;
	char err[256] = "";

	ASSERT_EQ(0, parse_boot(boot, &sb, &blob, err, sizeof(err)));
	EXPECT_EQ(1, sb.extra_devices);
	EXPECT_EQ(0x100000, sb.chunk_size);
	EXPECT_EQ(0x194, sb.flags);
	EXPECT_STREQ(blob_id, blob.id);
	EXPECT_EQ(2, blob.chunk_count);
	EXPECT_EQ(RAFS_COMP_ZSTD, blob.compressor);
	EXPECT_EQ(RAFS_DIGEST_BLAKE3, blob.digester);
	EXPECT_EQ(36864, blob.uncompressed_size);
	EXPECT_EQ(0x207A, blob.ci_offset);
	/* 2.2+ blob: chunk data ends before the tar header of image.blob. */
	EXPECT_EQ(7802, rafs_blob_data_size(&blob));
	free(boot);
}

/* Each mutation must be refused, with @what in the message. */
static int refused(unsigned char *boot, const char *what)
{
	struct rafs_super sb;
	struct rafs_blob blob;
	char err[512] = "";
	int ret = parse_boot(boot, &sb, &blob, err, sizeof(err));

	if (ret != -EINVAL || !strstr(err, what)) {
		fprintf(stderr, "# want -EINVAL with '%s', got %d: %s\n", what,
			ret, err);
		return -1;
	}
	return 0;
}

TEST(bad_bootstraps_are_refused_by_field)
{
	struct { size_t off; int width; uint64_t v; const char *what; } m[] = {
		{ 0, 4, 0x52414653, "RAFS v5" },
		{ 0x40C, 1, 9, "blkszbits" },
		{ 0x450, 4, 0x1C, "feature_incompat" },
		{ 0x480, 8, 0x194 | 0x200, "tarfs" },
		{ 0x494, 4, 0x3000, "chunk_size" },
		{ 0x490, 4, 0x200, "blob_table_size" },
		{ 0x488, 8, 0x100000, "blob_table_offset" },
		{ 0x456, 2, 0, "extra_devices" },
		{ 0x1000 + 76, 4, 7, "compressor 7 is unknown" },
		{ 0x1000 + 80, 4, 2, "digester" },
		{ 0x1000 + 84, 4, 0x70000121, "encrypted" },
		{ 0x1000 + 216, 4, 1, "cipher_algo" },
		{ 0x1000 + 84, 4, 0x70000020, "ALIGNED" },
		{ 0x1000 + 84, 4, 0x70001021, "bits fscached does not know" },
		{ 0x1000 + 84, 4, 0x70000061, "tarfs" },
		{ 0x1000 + 72, 4, 0, "chunk_count" },
		{ 0x1000 + 72, 4, 3, "ci_uncompressed_size" },
		{ 0x1000 + 96, 8, 40960, "uncompressed_size" },
		{ 0x1000 + 64, 4, 1, "blob_index" },
		{ 0x1000 + 68, 4, 0x200000, "chunk_size" },
		{ 0x1000 + 120, 8, 0, "without blob meta" },
		{ 0x1000 + 108, 4, 9, "ci_compressor" },
		{ 0x1000 + 120, 8, 33, "does not fit ci_uncompressed_size" },
		{ 0x1000 + 120, 8, 0xFFFFFFFFFFFFF064ULL, "does not fit ci_uncompressed_size" },
		{ 0x1000 + 84, 4, 0x700000A1, "CHUNK_INFO_V2" },
		{ 0x580, 1, 'c', "differs from device 1's tag" },
		{ 0x1000, 1, 'X', "not 64 hex digits" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(m); i++) {
		unsigned char *boot = example_boot();

		if (m[i].width == 1)
			boot[m[i].off] = (unsigned char)m[i].v;
		else if (m[i].width == 2)
			put16(boot + m[i].off, m[i].v);
		else if (m[i].width == 4)
			put32(boot + m[i].off, m[i].v);
		else
			put64(boot + m[i].off, m[i].v);
		EXPECT_EQ(0, refused(boot, m[i].what));
		free(boot);
	}
}

TEST(plain_erofs_is_not_rafs)
{
	unsigned char *boot = example_boot();
	struct rafs_super sb;
	char err[64];

	put32(boot + 0x408, 0);
	ASSERT_EQ(0, rafs_super_parse(boot, 4096, BOOT_SIZE, &sb, err, sizeof(err)));
	EXPECT_FALSE(sb.is_rafs);
	free(boot);
}

static int example_meta(struct blob_meta **m, char *err, size_t errlen)
{
	unsigned char *boot = example_boot(), hdr[BLOB_META_HEADER_SIZE];
	struct rafs_super sb;
	struct rafs_blob blob;
	int ret;

	ret = parse_boot(boot, &sb, &blob, err, errlen);
	free(boot);
	if (ret)
		return ret;
	example_header(hdr);
	return blob_meta_parse(&blob, example_ci, sizeof(example_ci), hdr,
			       rafs_blob_data_size(&blob), m, err, errlen);
}

TEST(example_ci_decodes)
{
	struct blob_meta *m = NULL;
	char err[256] = "";

	ASSERT_EQ(0, example_meta(&m, err, sizeof(err)));
	ASSERT_EQ(2, m->nr_chunks);
	EXPECT_EQ(0, m->chunks[0].u_off);
	EXPECT_EQ(16931, m->chunks[0].u_size);
	EXPECT_EQ(0, m->chunks[0].c_off);
	EXPECT_EQ(4828, m->chunks[0].c_size);
	EXPECT_EQ(CHUNK_COMPRESSED, m->chunks[0].flags);
	EXPECT_EQ(0x5000, m->chunks[1].u_off);
	EXPECT_EQ(13400, m->chunks[1].u_size);
	EXPECT_EQ(0x12DC, m->chunks[1].c_off);
	EXPECT_EQ(2974, m->chunks[1].c_size);
	EXPECT_EQ(0x5000, blob_chunk_aligned_end(&m->chunks[0]));
	EXPECT_EQ(36864, blob_chunk_aligned_end(&m->chunks[1]));
	/* Lookup: in a chunk, in its padding, past the end. */
	EXPECT_EQ(0, blob_meta_find(m, 0));
	EXPECT_EQ(0, blob_meta_find(m, 16930));
	EXPECT_EQ(0, blob_meta_find(m, 0x4FFF));
	EXPECT_EQ(1, blob_meta_find(m, 0x5000));
	EXPECT_EQ(1, blob_meta_find(m, 36863));
	EXPECT_EQ(2, blob_meta_find(m, 36864));
	blob_meta_free(m);
}

TEST(bad_blob_meta_is_refused)
{
	unsigned char *boot = example_boot(), hdr[BLOB_META_HEADER_SIZE];
	unsigned char ci[32];
	struct rafs_super sb;
	struct rafs_blob blob;
	struct blob_meta *m = NULL;
	char err[512];

	ASSERT_EQ(0, parse_boot(boot, &sb, &blob, err, sizeof(err)));
	free(boot);
	/* Header: no magic; other entries than the table. */
	example_header(hdr);
	put32(hdr + 4092, 0);
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, example_ci, 32, hdr, 7802,
					   &m, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "no magic"));
	example_header(hdr);
	put32(hdr + 12, 3);
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, example_ci, 32, hdr, 7802,
					   &m, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "differs from the bootstrap"));
	example_header(hdr);
	/* Chunk 1 overlapping chunk 0; compressed range past the data. */
	memcpy(ci, example_ci, 32);
	ci[17] = 0x40;
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, ci, 32, hdr, 7802, &m, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "chunk 1: u_off"));
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, example_ci, 32, hdr, 7000,
					   &m, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "past the blob's 7000 bytes"));
	/* Unaligned u_off cannot be expressed in v1: u_size past the blob. */
	memcpy(ci, example_ci, 32);
	ci[23] = 0x13;
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, ci, 32, hdr, 7802, &m, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "chunk 1: u_size"));
	/* A hole between native chunks; chunks ending short of the blob. */
	memcpy(ci, example_ci, 32);
	ci[17] = 0x60;
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, ci, 32, hdr, 7802, &m, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "chunk 1: u_off"));
	blob.uncompressed_size += 4096;
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, example_ci, 32, hdr, 7802,
					   &m, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "its chunks end at 36864"));
	blob.uncompressed_size -= 4096;
	/* Wrong ci length. */
	EXPECT_EQ(-EINVAL, blob_meta_parse(&blob, example_ci, 16, hdr, 7802,
					   &m, err, sizeof(err)));
	EXPECT_EQ(NULL, m);
}

TEST(decompressors_want_exact_lengths)
{
	size_t n = 100000, cap = ZSTD_compressBound(n);
	unsigned char *src = malloc(n), *c = malloc(cap), *out = malloc(n + 16);
	uLongf zlen;
	z_stream zs;
	size_t k;
	int clen;

	for (k = 0; k < n; k++)
		src[k] = (unsigned char)(k / 7 ^ k % 13);
	clen = LZ4_compress_default((char *)src, (char *)c, n, cap);
	ASSERT_GT(clen, 0);
	EXPECT_EQ(0, rafs_decompress(RAFS_COMP_LZ4_BLOCK, c, clen, out, n));
	EXPECT_EQ(0, memcmp(src, out, n));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_LZ4_BLOCK, c, clen, out, n - 1));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_LZ4_BLOCK, c, clen - 1, out, n));

	k = ZSTD_compress(c, cap, src, n, 3);
	ASSERT_FALSE(ZSTD_isError(k));
	EXPECT_EQ(0, rafs_decompress(RAFS_COMP_ZSTD, c, k, out, n));
	EXPECT_EQ(0, memcmp(src, out, n));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_ZSTD, c, k, out, n + 16));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_ZSTD, c, k, out, n - 1));
	/* No checksum in the frame: only a broken frame is seen here. */
	c[0] ^= 0x55;
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_ZSTD, c, k, out, n));

	memset(&zs, 0, sizeof(zs));
	ASSERT_EQ(Z_OK, deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8,
				     Z_DEFAULT_STRATEGY));
	zs.next_in = src;
	zs.avail_in = n;
	zs.next_out = c;
	zs.avail_out = cap;
	ASSERT_EQ(Z_STREAM_END, deflate(&zs, Z_FINISH));
	zlen = zs.total_out;
	deflateEnd(&zs);
	EXPECT_EQ(0, rafs_decompress(RAFS_COMP_GZIP, c, zlen, out, n));
	EXPECT_EQ(0, memcmp(src, out, n));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_GZIP, c, zlen, out, n - 1));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_GZIP, c, zlen, out, n + 1));

	EXPECT_EQ(0, rafs_decompress(RAFS_COMP_NONE, src, n, out, n));
	EXPECT_EQ(-EIO, rafs_decompress(RAFS_COMP_NONE, src, n, out, n - 1));
	EXPECT_EQ(-EIO, rafs_decompress(9, src, n, out, n));
	free(src);
	free(c);
	free(out);
}

TEST(digest_vectors)
{
	static const unsigned char blake3_empty[32] = {
		0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d,
		0xea, 0x36, 0xdc, 0xc9, 0x49, 0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1,
		0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62,
	};
	static const unsigned char sha256_abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char md[32];

	EXPECT_EQ(0xE3069283, crc32c("123456789", 9));
	ASSERT_EQ(0, digest_buf(DIGEST_BLAKE3, "", 0, md));
	EXPECT_EQ(0, memcmp(md, blake3_empty, 32));
	ASSERT_EQ(0, digest_buf(DIGEST_SHA256, "abc", 3, md));
	EXPECT_EQ(0, memcmp(md, sha256_abc, 32));
	EXPECT_EQ(-EINVAL, digest_buf(2, "abc", 3, md));
}

TEST_HARNESS_MAIN
