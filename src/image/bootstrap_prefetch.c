// SPDX-License-Identifier: GPL-2.0
/*
 * A RAFS v6 bootstrap's prefetch table: the files and directories its
 * builder named to be read first, as ranges of each data blob. A named
 * directory stands for everything below it, as in nydusd.
 */
#include <errno.h>
#include <stdlib.h>

#include "bootstrap_prefetch.h"
#include "lib/compiler.h"
#include "lib/fileio.h"
#include "format/bytes.h"
#include "format/erofs_inode.h"
#include "lib/log.h"

/* Entries the prefetch table may name: bound what an image can ask. */
#define PREFETCH_MAX_FILES	65536
#define PREFETCH_MAX_INDEXES	(1U << 20)
/* Inodes reached through the directories it names. */
#define PREFETCH_MAX_INODES	(1U << 20)

static int range_cmp(const void *a, const void *b)
{
	const struct blob_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort and merge each blob's ranges. */
static void ranges_merge(struct blob_range *r, unsigned int *nr)
{
	unsigned int i, n = 0;

	if (!*nr)
		return;
	qsort(r, *nr, sizeof(*r), range_cmp);
	for (i = 1; i < *nr; i++) {
		if (r[i].off <= r[n].off + r[n].len) {
			uint64_t end = r[i].off + r[i].len;

			if (end > r[n].off + r[n].len)
				r[n].len = end - r[n].off;
		} else {
			r[++n] = r[i];
		}
	}
	*nr = n + 1;
}

/* A directory to read, its inode parsed when it was reached. */
struct dir_ref {
	uint64_t off;			/* of its inode in the bootstrap */
	struct erofs_inode_info info;
};

/* Walking the prefetch table and the directories it names. */
struct prefetch_walk {
	int fd;
	const struct rafs_super *sb;
	uint64_t size;			/* of the bootstrap */
	struct bootstrap_info *bi;
	unsigned int *cap;		/* of each bi->prefetch[] */
	struct dir_ref *dirs;		/* directories still to read */
	unsigned int nr_dirs, dirs_cap;
	unsigned int inodes;		/* reached so far */
	unsigned int bad;		/* entries that are not sane */
	uint64_t *seen;			/* a bit per inode slot */
};

static int range_add(struct prefetch_walk *w, unsigned int blob,
		     uint64_t off, uint64_t len)
{
	struct bootstrap_info *bi = w->bi;
	struct blob_range *r;

	if (bi->nr_prefetch[blob] == w->cap[blob]) {
		unsigned int ncap = w->cap[blob] ? w->cap[blob] * 2 : 16;

		r = realloc(bi->prefetch[blob], ncap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bi->prefetch[blob] = r;
		w->cap[blob] = ncap;
	}
	bi->prefetch[blob][bi->nr_prefetch[blob]++] = (struct blob_range){ off, len };
	return 0;
}

static uint64_t inode_offset(const struct rafs_super *sb, uint64_t nid)
{
	return (uint64_t)sb->meta_blkaddr * 4096 + nid * EROFS_INODE_SLOT;
}

/* The blob ranges of a chunk-based regular file, added to the walk. */
static int prefetch_file(struct prefetch_walk *w, uint64_t off,
			 const struct erofs_inode_info *info)
{
	struct bootstrap_info *bi = w->bi;
	unsigned char *idx;
	unsigned int dev;
	uint32_t blk;
	uint64_t i, len, usize;
	int ret;

	if (!info->chunk_based || !info->size)
		return 0;
	if (info->nr_indexes > PREFETCH_MAX_INDEXES ||
	    off + info->index_off + info->nr_indexes * 8 > w->size)
		return -EINVAL;
	idx = malloc(info->nr_indexes * 8);
	if (!idx)
		return -ENOMEM;
	ret = pread_full(w->fd, idx, info->nr_indexes * 8, off + info->index_off);
	for (i = 0; !ret && i < info->nr_indexes; i++) {
		erofs_chunk_index(idx + i * 8, &dev, &blk);
		if (blk == EROFS_NULL_ADDR)
			continue;
		if (!dev || dev > bi->nr_blobs) {
			ret = -EINVAL;
			break;
		}
		usize = bi->rafs[dev - 1].uncompressed_size;
		len = info->size - (i << info->chunkbits);
		if (len > (1ULL << info->chunkbits))
			len = 1ULL << info->chunkbits;
		len = (len + 4095) & ~4095ULL;
		if ((uint64_t)blk * 4096 >= usize)
			continue;
		if (len > usize - (uint64_t)blk * 4096)
			len = usize - (uint64_t)blk * 4096;
		ret = range_add(w, dev - 1, (uint64_t)blk * 4096, len);
	}
	free(idx);
	return ret;
}

static int dir_push(struct prefetch_walk *w, uint64_t off,
		    const struct erofs_inode_info *info)
{
	struct dir_ref *d;

	if (w->nr_dirs == w->dirs_cap) {
		unsigned int ncap = w->dirs_cap ? w->dirs_cap * 2 : 16;

		d = realloc(w->dirs, ncap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		w->dirs = d;
		w->dirs_cap = ncap;
	}
	w->dirs[w->nr_dirs++] = (struct dir_ref){ off, *info };
	return 0;
}

/* A bad entry is skipped and counted; what else failed stops the walk. */
static int skip_bad(struct prefetch_walk *w, int ret)
{
	if (ret != -EINVAL)
		return ret;
	w->bad++;
	return 0;
}

/*
 * A file's ranges are added; a directory is queued, to be read for what
 * it holds, as nydusd prefetches a named directory's descendants. Other
 * inodes hold no blob data.
 */
static int prefetch_inode(struct prefetch_walk *w, uint64_t nid)
{
	unsigned char ino[EROFS_INODE_MAX];
	uint64_t off = inode_offset(w->sb, nid);
	struct erofs_inode_info info;

	if (nid > UINT32_MAX || off + EROFS_INODE_MAX > w->size)
		return -EINVAL;
	/* Hard links, and hostile directory loops: each inode once. */
	if (w->seen[nid / 64] & (1ULL << (nid % 64)))
		return 0;
	w->seen[nid / 64] |= 1ULL << (nid % 64);
	if (pread_full(w->fd, ino, sizeof(ino), off) ||
	    erofs_inode_parse(ino, sizeof(ino), off, &info))
		return -EINVAL;
	w->inodes++;
	switch (info.mode & EROFS_S_IFMT) {
	case EROFS_S_IFREG:
		return prefetch_file(w, off, &info);
	case EROFS_S_IFDIR:
		return dir_push(w, off, &info);
	}
	return 0;
}

static int prefetch_dirent(uint64_t nid, void *arg)
{
	struct prefetch_walk *w = arg;

	if (w->inodes >= PREFETCH_MAX_INODES)
		return -E2BIG;
	return skip_bad(w, prefetch_inode(w, nid));
}

/* Where block @b of a flat directory is, and how many bytes it uses. */
static int dir_block(const struct prefetch_walk *w, uint64_t ino_off,
		     const struct erofs_inode_info *info, uint64_t b,
		     uint64_t *pos, size_t *len)
{
	uint64_t start = b * EROFS_BLOCK_SIZE;

	*len = MIN(info->size - start, (uint64_t)EROFS_BLOCK_SIZE);
	if (info->layout == EROFS_LAYOUT_FLAT_INLINE &&
	    b == info->size / EROFS_BLOCK_SIZE) {
		/* The tail sits after the inode, in the inode's block. */
		*pos = ino_off + info->inline_off;
		if (*pos % EROFS_BLOCK_SIZE + *len > EROFS_BLOCK_SIZE)
			return -EINVAL;
	} else {
		*pos = (uint64_t)info->raw_blkaddr * EROFS_BLOCK_SIZE + start;
	}
	return *pos + *len <= w->size ? 0 : -EINVAL;
}

/* Each entry of directory @d goes through prefetch_inode(). */
static int prefetch_dir(struct prefetch_walk *w, const struct dir_ref *d)
{
	const struct erofs_inode_info *info = &d->info;
	unsigned char blk[EROFS_BLOCK_SIZE];
	uint64_t b, pos;
	size_t len;
	int ret = 0;

	if ((info->layout != EROFS_LAYOUT_FLAT_PLAIN &&
	     info->layout != EROFS_LAYOUT_FLAT_INLINE) || info->size > w->size)
		return -EINVAL;
	for (b = 0; !ret && b * EROFS_BLOCK_SIZE < info->size; b++) {
		ret = dir_block(w, d->off, info, b, &pos, &len);
		if (!ret)
			ret = pread_full(w->fd, blk, len, pos);
		if (!ret)
			ret = erofs_dir_block_walk(blk, len, prefetch_dirent, w);
	}
	return ret;
}

static int prefetch_dirs(struct prefetch_walk *w)
{
	struct dir_ref d;
	int ret = 0;

	while (!ret && w->nr_dirs) {
		/* A copy: reading it pushes its subdirectories over its slot. */
		d = w->dirs[--w->nr_dirs];
		ret = skip_bad(w, prefetch_dir(w, &d));
	}
	if (ret == -E2BIG) {
		log_warn("the prefetch table's directories hold more than %u inodes: the rest is not prefetched first",
			 PREFETCH_MAX_INODES);
		ret = 0;
	}
	return ret;
}

/*
 * The prefetch table: the files and directories the image's builder named
 * to be read first. A bad entry is skipped (the image is served all the
 * same).
 */
int bootstrap_read_prefetch(int fd, const struct rafs_super *sb, uint64_t size,
			    struct bootstrap_info *bi)
{
	struct prefetch_walk w = { .fd = fd, .sb = sb, .size = size, .bi = bi };
	unsigned int i, n = sb->prefetch_table_size / 4;
	unsigned char *tbl;
	int ret = -ENOMEM;

	if (!n)
		return 0;
	if (n > PREFETCH_MAX_FILES)
		n = PREFETCH_MAX_FILES;
	bi->prefetch = calloc(bi->nr_blobs, sizeof(*bi->prefetch));
	bi->nr_prefetch = calloc(bi->nr_blobs, sizeof(*bi->nr_prefetch));
	w.cap = calloc(bi->nr_blobs, sizeof(*w.cap));
	/* Every nid an inode of this file can have. */
	w.seen = calloc(size / EROFS_INODE_SLOT / 64 + 1, sizeof(*w.seen));
	tbl = malloc(n * 4);
	if (!bi->prefetch || !bi->nr_prefetch || !w.cap || !w.seen || !tbl)
		goto out;
	ret = pread_full(fd, tbl, n * 4, sb->prefetch_table_offset);
	for (i = 0; !ret && i < n; i++) {
		uint32_t nid = get_le32(tbl + 4 * i);

		if (!nid)
			break;
		ret = skip_bad(&w, prefetch_inode(&w, nid));
	}
	if (!ret)
		ret = prefetch_dirs(&w);
	for (i = 0; !ret && i < bi->nr_blobs; i++)
		ranges_merge(bi->prefetch[i], &bi->nr_prefetch[i]);
	if (w.bad)
		log_warn("the prefetch table names %u entries that are not sane inodes: skipped",
			 w.bad);
out:
	free(w.seen);
	free(w.dirs);
	free(w.cap);
	free(tbl);
	return ret;
}
