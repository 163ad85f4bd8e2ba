// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "erofs_inode.h"

#define I_FORMAT_EXTENDED	0x1
#define I_LAYOUT(f)		(((f) >> 1) & 0x7)
#define CHUNK_FORMAT_INDEXES	0x20
#define CHUNK_FORMAT_BLKBITS	0x1F
#define BLKSZBITS		12
#define DIRENT_SIZE		12

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
	out->layout = I_LAYOUT(format);
	out->raw_blkaddr = u;
	out->inline_off = isize + xsize;
	if (out->layout != EROFS_LAYOUT_CHUNK_BASED)
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

int erofs_dir_block_walk(const void *blk, size_t len,
			 int (*fn)(uint64_t nid, void *arg), void *arg)
{
	const unsigned char *b = blk;
	unsigned int i, n, nameoff, next, namelen;
	const unsigned char *name;
	int ret;

	if (len < DIRENT_SIZE || len > EROFS_BLOCK_SIZE)
		return -EINVAL;
	n = get_le16(b + 8) / DIRENT_SIZE;
	if (!n || get_le16(b + 8) % DIRENT_SIZE || n * DIRENT_SIZE > len)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		nameoff = get_le16(b + i * DIRENT_SIZE + 8);
		next = i + 1 < n ? get_le16(b + (i + 1) * DIRENT_SIZE + 8)
				 : (unsigned int)len;
		if (nameoff < n * DIRENT_SIZE || next < nameoff || next > len)
			return -EINVAL;
		name = b + nameoff;
		/* The last name may be padded with NULs to the block's end. */
		namelen = strnlen((const char *)name, next - nameoff);
		if (!namelen)
			return -EINVAL;
		if ((namelen == 1 && name[0] == '.') ||
		    (namelen == 2 && name[0] == '.' && name[1] == '.'))
			continue;
		ret = fn(get_le64(b + i * DIRENT_SIZE), arg);
		if (ret)
			return ret;
	}
	return 0;
}
