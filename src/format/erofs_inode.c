// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "format/bytes.h"
#include "format/erofs_inode.h"

#define I_FORMAT_EXTENDED	0x1
#define I_LAYOUT(f)		(((f) >> 1) & 0x7)
#define LAYOUT_CHUNK_BASED	4
#define CHUNK_FORMAT_INDEXES	0x20
#define CHUNK_FORMAT_BLKBITS	0x1F
#define BLKSZBITS		12
#define S_IFMT_			0170000

int erofs_inode_parse(const void *buf, size_t len, uint64_t inode_off,
		      struct erofs_inode_info *out)
{
	const unsigned char *p = buf;
	uint16_t format, icount;
	unsigned int isize, xsize;
	uint32_t u;

	memset(out, 0, sizeof(*out));
	if (len < EROFS_INODE_SLOT)
		return -EINVAL;
	format = get_le16(p);
	icount = get_le16(p + 2);
	out->mode = get_le16(p + 4);
	if (format & I_FORMAT_EXTENDED) {
		if (len < EROFS_INODE_MAX)
			return -EINVAL;
		isize = 64;
		out->size = get_le64(p + 8);
	} else {
		isize = 32;
		out->size = get_le32(p + 8);
	}
	u = get_le32(p + 16);
	xsize = icount ? 12 + 4 * (icount - 1) : 0;
	if (I_LAYOUT(format) != LAYOUT_CHUNK_BASED)
		return 0;
	/* Block maps (no INDEXES flag) are not what nydus writes. */
	if (!(u & CHUNK_FORMAT_INDEXES))
		return -EINVAL;
	out->chunk_based = true;
	out->chunkbits = BLKSZBITS + (u & CHUNK_FORMAT_BLKBITS);
	if (out->chunkbits > 40)
		return -EINVAL;
	out->index_off = ((inode_off + isize + xsize + 7) & ~7ULL) - inode_off;
	out->nr_indexes = (out->size + (1ULL << out->chunkbits) - 1) >>
			  out->chunkbits;
	return 0;
}

void erofs_chunk_index(const void *p, unsigned int *device, uint32_t *blkaddr)
{
	const unsigned char *b = p;

	*device = b[2];
	*blkaddr = get_le32(b + 4);
}
