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

struct erofs_sb_summary {
	uint32_t feature_incompat;
	uint16_t extra_devices;
	unsigned int blkszbits;
	bool compressed;	/* some data may be compressed */
};

/*
 * Parse the superblock in @sb (@len bytes, starting at EROFS_SB_OFFSET of
 * the blob). Returns 0, or -EINVAL when it is not an EROFS superblock.
 */
int erofs_sb_parse(const void *sb, size_t len, struct erofs_sb_summary *out);

#endif
