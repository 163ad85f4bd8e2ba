/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What fscached needs to know of an EROFS image, read from its superblock
 * (1024 bytes into the blob). Only the on-disk format is known here.
 */
#ifndef FSCACHED_EROFS_H
#define FSCACHED_EROFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EROFS_SB_OFFSET		1024
#define EROFS_SB_SIZE		128
#define EROFS_SUPER_MAGIC	0xE0F5E1E2U

#define EROFS_DEVICE_SLOT_SIZE	128
#define EROFS_DEVICE_TAG_MAX	64

struct erofs_sb_summary {
	uint32_t feature_incompat;
	uint16_t extra_devices;
	uint16_t devt_slotoff;		/* in EROFS_DEVICE_SLOT_SIZE units */
	unsigned int blkszbits;
	bool compressed;	/* some data may be compressed */
};

/*
 * Parse the superblock in @sb (@len bytes, starting at EROFS_SB_OFFSET of
 * the blob). Returns 0, or -EINVAL when it is not an EROFS superblock.
 */
int erofs_sb_parse(const void *sb, size_t len, struct erofs_sb_summary *out);

/*
 * The tags of an image's extra devices (its data blobs), from @img, the
 * image's first @len bytes. Each tag is NUL-terminated in @tags[i]; an
 * empty tag is -EINVAL (the kernel could not name that blob). Returns the
 * count, or -EINVAL, or -ENOSPC beyond @max.
 */
int erofs_device_tags(const void *img, size_t len,
		      char tags[][EROFS_DEVICE_TAG_MAX + 1], unsigned int max);

#endif
