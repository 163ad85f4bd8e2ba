// SPDX-License-Identifier: GPL-2.0
/* The superblock summary that decides, among others, about read-ahead. */
#include <errno.h>
#include <string.h>

#include "format/erofs.h"
#include "harness.h"

static void make_sb(unsigned char *sb, uint32_t incompat, uint16_t u1)
{
	memset(sb, 0, EROFS_SB_SIZE);
	sb[0] = 0xe2; sb[1] = 0xe1; sb[2] = 0xf5; sb[3] = 0xe0;
	sb[12] = 12;
	sb[80] = incompat & 0xff;
	sb[81] = incompat >> 8;
	sb[84] = u1 & 0xff;
	sb[85] = u1 >> 8;
	sb[86] = 2;
}

TEST(uncompressed_and_chunked_images)
{
	unsigned char sb[EROFS_SB_SIZE];
	struct erofs_sb_summary s;

	make_sb(sb, 0, 0);
	ASSERT_EQ(0, erofs_sb_parse(sb, sizeof(sb), &s));
	EXPECT_FALSE(s.compressed);
	EXPECT_EQ(12, s.blkszbits);
	EXPECT_EQ(2, s.extra_devices);
	/* mkfs.erofs 1.5 --chunksize --blobdev: chunked + device table */
	make_sb(sb, 0x0c, 0);
	ASSERT_EQ(0, erofs_sb_parse(sb, sizeof(sb), &s));
	EXPECT_FALSE(s.compressed);
	EXPECT_EQ(0x0c, s.feature_incompat);
}

TEST(compressed_images)
{
	unsigned char sb[EROFS_SB_SIZE];
	struct erofs_sb_summary s;

	/* mkfs.erofs 1.5 -zlz4hc: zero padding, lz4 distance 0xffff */
	make_sb(sb, 0x01, 0xffff);
	ASSERT_EQ(0, erofs_sb_parse(sb, sizeof(sb), &s));
	EXPECT_TRUE(s.compressed);
	make_sb(sb, 0x02, 0);
	ASSERT_EQ(0, erofs_sb_parse(sb, sizeof(sb), &s));
	EXPECT_TRUE(s.compressed);
	make_sb(sb, 0, 0x0003);
	ASSERT_EQ(0, erofs_sb_parse(sb, sizeof(sb), &s));
	EXPECT_TRUE(s.compressed);
}

TEST(not_a_superblock)
{
	unsigned char sb[EROFS_SB_SIZE];
	struct erofs_sb_summary s;

	make_sb(sb, 0, 0);
	EXPECT_EQ(-EINVAL, erofs_sb_parse(sb, EROFS_SB_SIZE - 1, &s));
	sb[0] ^= 1;
	EXPECT_EQ(-EINVAL, erofs_sb_parse(sb, sizeof(sb), &s));
	make_sb(sb, 0, 0);
	sb[12] = 40;	/* no such block size */
	EXPECT_EQ(-EINVAL, erofs_sb_parse(sb, sizeof(sb), &s));
}

TEST(device_tags_name_the_data_blobs)
{
	static unsigned char img[4096];
	char tags[4][EROFS_DEVICE_TAG_MAX + 1];

	memset(img, 0, sizeof(img));
	make_sb(img + EROFS_SB_OFFSET, 0x0c, 0);
	img[EROFS_SB_OFFSET + 88] = 10;		/* slots at 10 * 128 = 1280 */
	memcpy(img + 1280, "sha256-data-a", 13);
	memcpy(img + 1408, "data-b", 6);
	ASSERT_EQ(2, erofs_device_tags(img, sizeof(img), tags, 4));
	EXPECT_STREQ("sha256-data-a", tags[0]);
	EXPECT_STREQ("data-b", tags[1]);
	/* A 64-byte tag fills its slot: still a string. */
	memset(img + 1280, 'x', 64);
	ASSERT_EQ(2, erofs_device_tags(img, sizeof(img), tags, 4));
	EXPECT_EQ(64, strlen(tags[0]));
	/* Too many, cut short, an empty tag, not an image. */
	EXPECT_EQ(-ENOSPC, erofs_device_tags(img, sizeof(img), tags, 1));
	EXPECT_EQ(-EINVAL, erofs_device_tags(img, 1400, tags, 4));
	memset(img + 1408, 0, 64);
	EXPECT_EQ(-EINVAL, erofs_device_tags(img, sizeof(img), tags, 4));
	img[EROFS_SB_OFFSET] = 0;
	EXPECT_EQ(-EINVAL, erofs_device_tags(img, sizeof(img), tags, 4));
}

TEST_HARNESS_MAIN
