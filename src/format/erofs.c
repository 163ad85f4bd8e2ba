// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "erofs.h"

/* On-disk offsets in struct erofs_super_block (little endian). */
#define SB_MAGIC		0
#define SB_BLKSZBITS		12
#define SB_FEATURE_INCOMPAT	80
#define SB_COMPR_U1		84	/* available_compr_algs / lz4_max_distance */
#define SB_EXTRA_DEVICES	86
#define SB_DEVT_SLOTOFF		88

#define INCOMPAT_ZERO_PADDING	0x00000001U
#define INCOMPAT_COMPR_CFGS	0x00000002U	/* also BIG_PCLUSTER */

static uint32_t le32_at(const unsigned char *p, size_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static uint16_t le16_at(const unsigned char *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

int erofs_sb_parse(const void *sb, size_t len, struct erofs_sb_summary *out)
{
	const unsigned char *p = sb;

	if (len < EROFS_SB_SIZE || le32_at(p, SB_MAGIC) != EROFS_SUPER_MAGIC)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->blkszbits = p[SB_BLKSZBITS];
	if (out->blkszbits < 9 || out->blkszbits > 16)
		return -EINVAL;
	out->feature_incompat = le32_at(p, SB_FEATURE_INCOMPAT);
	out->extra_devices = le16_at(p, SB_EXTRA_DEVICES);
	out->devt_slotoff = le16_at(p, SB_DEVT_SLOTOFF);
	/*
	 * mkfs.erofs sets zero padding and a non-zero lz4 distance or
	 * algorithm mask whenever it compresses; err on the side of "yes".
	 */
	out->compressed = (out->feature_incompat &
			   (INCOMPAT_ZERO_PADDING | INCOMPAT_COMPR_CFGS)) ||
			  le16_at(p, SB_COMPR_U1) != 0;
	return 0;
}

int erofs_device_tags(const void *img, size_t len,
		      char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int max)
{
	const unsigned char *p = img;
	struct erofs_sb_summary sb;
	size_t slot;
	unsigned int i;

	if (len < EROFS_SB_OFFSET + EROFS_SB_SIZE ||
	    erofs_sb_parse(p + EROFS_SB_OFFSET, EROFS_SB_SIZE, &sb))
		return -EINVAL;
	if (sb.extra_devices > max)
		return -ENOSPC;
	for (i = 0; i < sb.extra_devices; i++) {
		slot = ((size_t)sb.devt_slotoff + i) * EROFS_DEVICE_SLOT_SIZE;
		if (slot + EROFS_DEVICE_SLOT_SIZE > len)
			return -EINVAL;
		memcpy(tags[i], p + slot, EROFS_DEVICE_TAG_MAX);
		tags[i][EROFS_DEVICE_TAG_MAX] = '\0';
		if (!tags[i][0])
			return -EINVAL;
	}
	return sb.extra_devices;
}
