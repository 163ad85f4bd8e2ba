/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EROFS inodes, as far as a daemon needs them to know which ranges of
 * which data blob hold a file: chunk-based regular files and their chunk
 * indexes (nydus' RAFS v6 files are all chunk-based).
 */
#ifndef FSCACHED_FORMAT_EROFS_INODE_H
#define FSCACHED_FORMAT_EROFS_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EROFS_INODE_SLOT	32
#define EROFS_INODE_MAX		64	/* an extended inode */
#define EROFS_CHUNK_INDEX_SIZE	8
#define EROFS_NULL_ADDR		0xFFFFFFFFU
#define EROFS_BLOCK_SIZE	4096
#define EROFS_LAYOUT_FLAT_PLAIN		0
#define EROFS_LAYOUT_FLAT_INLINE	2
#define EROFS_LAYOUT_CHUNK_BASED	4
#define EROFS_S_IFMT		0170000
#define EROFS_S_IFREG		0100000
#define EROFS_S_IFDIR		0040000

struct erofs_inode_info {
	uint16_t mode;
	uint64_t size;
	unsigned int layout;		/* EROFS_LAYOUT_* */
	uint32_t raw_blkaddr;		/* flat layouts: the first data block */
	uint64_t inline_off;		/* flat inline: the tail, from the inode */
	bool chunk_based;
	unsigned int chunkbits;		/* log2 of the EROFS chunk size */
	uint64_t index_off;		/* from the inode's start */
	uint64_t nr_indexes;
};

/*
 * Parse the inode at the start of @buf (@len bytes, EROFS_INODE_MAX is
 * enough). 0, or -EINVAL for what is not a sane inode.
 */
int erofs_inode_parse(const void *buf, size_t len, uint64_t inode_off,
		      struct erofs_inode_info *out);

/* Chunk index @p (8 bytes): device id (0: none) and block address. */
void erofs_chunk_index(const void *p, unsigned int *device, uint32_t *blkaddr);

/*
 * Call @fn for each entry of the directory block @blk (@len bytes used)
 * but "." and "..", until it returns nonzero, which is returned. -EINVAL
 * for a block that is not a sane one.
 */
int erofs_dir_block_walk(const void *blk, size_t len,
			 int (*fn)(uint64_t nid, void *arg), void *arg);

#endif
