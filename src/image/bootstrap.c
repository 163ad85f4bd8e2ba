// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap.h"
#include "bootstrap_inline.h"
#include "bootstrap_prefetch.h"
#include "config/config.h"
#include "lib/fileio.h"
#include "lib/log.h"

/* Superblocks and the largest device table (256 slots). */
#define BOOTSTRAP_HEAD_MAX	(64U << 10)
/* Chunk tables are read whole: bound what a hostile image can ask. */
#define CHUNK_TABLE_MAX		(1ULL << 30)

void bootstrap_info_free(struct bootstrap_info *bi)
{
	unsigned int i;

	if (bi->digests)
		for (i = 0; i < bi->nr_blobs; i++)
			free(bi->digests[i]);
	free(bi->digests);
	free(bi->nr_digests);
	if (bi->prefetch)
		for (i = 0; i < bi->nr_blobs; i++)
			free(bi->prefetch[i]);
	free(bi->prefetch);
	free(bi->nr_prefetch);
	free(bi->tags);
	free(bi->rafs);
	if (bi->boot_in_memory)
		close(bi->boot_fd);
	memset(bi, 0, sizeof(*bi));
}

static int digest_cmp(const void *a, const void *b)
{
	const struct chunk_digest *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

void chunk_digests_sort(struct chunk_digest *d, uint32_t *nr)
{
	uint32_t i, n = 0;

	if (!*nr)
		return;
	qsort(d, *nr, sizeof(*d), digest_cmp);
	for (i = 1; i < *nr; i++)
		if (d[i].index != d[n].index)
			d[++n] = d[i];
	*nr = n + 1;
}

const struct chunk_digest *chunk_digest_find(const struct chunk_digest *d,
					     uint32_t nr, uint32_t index)
{
	struct chunk_digest key = { .index = index };

	return bsearch(&key, d, nr, sizeof(*d), digest_cmp);
}

/*
 * Each blob's chunk digests from the chunk table, as records sorted by ci
 * index: as many as the table has (a chunk no file of the merged image
 * uses has none, and is written unchecked: no reader sees it), so that
 * what they cost is bounded by the bootstrap's size.
 */
static int read_digests(int fd, const struct rafs_super *sb,
			struct bootstrap_info *bi, char *err, size_t errlen)
{
	struct rafs_chunk_record r;
	uint64_t i, nr = sb->chunk_table_size / RAFS_CHUNK_RECORD_SIZE;
	unsigned char *table;
	unsigned int b;
	int ret;

	if (sb->chunk_table_size > CHUNK_TABLE_MAX) {
		snprintf(err, errlen, "ext superblock chunk_table_size %llu is too large",
			 (unsigned long long)sb->chunk_table_size);
		return -EINVAL;
	}
	bi->digests = calloc(bi->nr_blobs, sizeof(*bi->digests));
	bi->nr_digests = calloc(bi->nr_blobs, sizeof(*bi->nr_digests));
	table = malloc(sb->chunk_table_size ? sb->chunk_table_size : 1);
	ret = -ENOMEM;
	if (!bi->digests || !bi->nr_digests || !table)
		goto out;
	ret = pread_full(fd, table, sb->chunk_table_size, sb->chunk_table_offset);
	if (ret) {
		snprintf(err, errlen, "reading the chunk table: %s", strerror(-ret));
		goto out;
	}
	/* Count, then fill: one allocation per blob, of its records. */
	for (i = 0; i < nr; i++) {
		rafs_chunk_record_decode(table + i * RAFS_CHUNK_RECORD_SIZE, &r);
		if (r.blob_index >= bi->nr_blobs ||
		    r.index >= bi->rafs[r.blob_index].chunk_count) {
			snprintf(err, errlen, "chunk table record %llu: blob_index %u, index %u out of bounds",
				 (unsigned long long)i, r.blob_index, r.index);
			ret = -EINVAL;
			goto out;
		}
		bi->nr_digests[r.blob_index]++;
	}
	ret = -ENOMEM;
	for (b = 0; b < bi->nr_blobs; b++) {
		if (!bi->nr_digests[b])
			continue;
		bi->digests[b] = malloc(bi->nr_digests[b] * sizeof(**bi->digests));
		if (!bi->digests[b])
			goto out;
		bi->nr_digests[b] = 0;
	}
	for (i = 0; i < nr; i++) {
		struct chunk_digest *d;

		rafs_chunk_record_decode(table + i * RAFS_CHUNK_RECORD_SIZE, &r);
		d = &bi->digests[r.blob_index][bi->nr_digests[r.blob_index]++];
		d->index = r.index;
		memcpy(d->md, r.digest, sizeof(d->md));
	}
	for (b = 0; b < bi->nr_blobs; b++) {
		chunk_digests_sort(bi->digests[b], &bi->nr_digests[b]);
		if (bi->nr_digests[b] < bi->rafs[b].chunk_count)
			log_debug("blob %s: %u of %u chunks have no digest in the chunk table (no file uses them)",
				  bi->rafs[b].id,
				  bi->rafs[b].chunk_count - bi->nr_digests[b],
				  bi->rafs[b].chunk_count);
	}
	ret = 0;
out:
	free(table);
	return ret;
}

/* Keep the bootstrap @fd (@size bytes) in a memfd that can be retagged. */
static int copy_to_memfd(int fd, uint64_t size, struct bootstrap_info *bi,
			 char *err, size_t errlen)
{
	unsigned char *buf;
	int mfd, ret;

	if (size > BOOTSTRAP_INLINE_MAX) {
		snprintf(err, errlen, "a bootstrap with an inlined blob's stale device tag, %llu bytes, is too large to retag (at most %llu)",
			 (unsigned long long)size, BOOTSTRAP_INLINE_MAX);
		return -EINVAL;
	}
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	ret = pread_full(fd, buf, size, 0);
	if (ret) {
		snprintf(err, errlen, "reading the bootstrap: %s", strerror(-ret));
		goto out;
	}
	mfd = bootstrap_memfd_of(buf, size);
	if (mfd < 0) {
		ret = mfd;
		snprintf(err, errlen, "cannot keep the bootstrap in memory: %s",
			 strerror(-ret));
		goto out;
	}
	bi->boot_fd = mfd;
	bi->boot_in_memory = true;
out:
	free(buf);
	return ret;
}

/*
 * The kernel names each blob by its device tag, and a blob that holds its
 * own bootstrap (INLINED_FS_META) has a tag nydus did not keep: stale, or
 * a placeholder every such image shares. Serve a copy whose tags are the
 * blob ids, so that the kernel's cookie, the cache file, culling and the
 * recheck all name a blob by its id, and two such images in one domain
 * do not meet under one placeholder.
 */
static int retag_inlined(int fd, const struct rafs_super *sb, const void *head,
			 size_t head_len, uint64_t file_size,
			 struct bootstrap_info *bi, char *err, size_t errlen)
{
	char tag[RAFS_BLOB_ID_LEN + 1], slot[EROFS_DEVICE_TAG_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < bi->nr_blobs; i++) {
		if (!(bi->rafs[i].features & RAFS_BLOB_INLINED_FS_META))
			continue;
		if (rafs_device_tag(sb, head, head_len, i, tag))
			strcpy(tag, "(not printable)");
		else if (!strcmp(tag, bi->rafs[i].id))
			continue;
		if (!bi->boot_in_memory) {
			ret = copy_to_memfd(fd, file_size, bi, err, errlen);
			if (ret)
				return ret;
		}
		memset(slot, 0, sizeof(slot));
		memcpy(slot, bi->rafs[i].id, strlen(bi->rafs[i].id));
		ret = pwrite_full(bi->boot_fd, slot, sizeof(slot),
				  rafs_device_tag_offset(sb, i));
		if (ret) {
			snprintf(err, errlen, "blob %s: retagging device %u: %s",
				 bi->rafs[i].id, i + 1, strerror(-ret));
			return ret;
		}
		log_debug("blob %s: device %u's tag '%s' is served as its id",
			  bi->rafs[i].id, i + 1, tag);
	}
	return 0;
}

static int read_rafs(int fd, const struct rafs_super *sb, const void *head,
		     size_t head_len, uint64_t file_size, const char *inlined_id,
		     bool want_digests, struct bootstrap_info *bi, char *err,
		     size_t errlen)
{
	unsigned char *table;
	unsigned int i;
	int ret;

	bi->nr_blobs = sb->extra_devices;
	bi->rafs = calloc(bi->nr_blobs, sizeof(*bi->rafs));
	bi->tags = calloc(bi->nr_blobs, sizeof(*bi->tags));
	table = malloc(sb->blob_table_size);
	ret = -ENOMEM;
	if (!bi->rafs || !bi->tags || !table)
		goto out;
	ret = pread_full(fd, table, sb->blob_table_size, sb->blob_table_offset);
	if (ret) {
		snprintf(err, errlen, "reading the blob table: %s", strerror(-ret));
		goto out;
	}
	ret = rafs_blob_table_parse(sb, head, head_len, table,
				    sb->blob_table_size, inlined_id, bi->rafs,
				    err, errlen);
	if (ret)
		goto out;
	for (i = 0; i < bi->nr_blobs; i++)
		memcpy(bi->tags[i], bi->rafs[i].id, sizeof(bi->tags[i]));
	ret = retag_inlined(fd, sb, head, head_len, file_size, bi, err, errlen);
	if (ret)
		goto out;
	if (want_digests)
		ret = read_digests(fd, sb, bi, err, errlen);
	if (!ret && bootstrap_read_prefetch(fd, sb, file_size, bi)) {
		snprintf(err, errlen, "reading the prefetch table: out of memory or I/O error");
		ret = -EIO;
	}
out:
	free(table);
	return ret;
}

static int read_bootstrap_fd(int fd, uint64_t size, const char *inlined_id,
			     bool want_digests, struct bootstrap_info *bi,
			     char *err, size_t errlen)
{
	struct rafs_super sb;
	unsigned char *head;
	ssize_t n;
	int ret;

	head = malloc(BOOTSTRAP_HEAD_MAX);
	if (!head)
		return -ENOMEM;
	n = pread(fd, head, BOOTSTRAP_HEAD_MAX, 0);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	ret = rafs_super_parse(head, n, size, &sb, err, errlen);
	if (ret)
		goto out;
	if (sb.is_rafs) {
		ret = read_rafs(fd, &sb, head, n, size, inlined_id,
				want_digests, bi, err, errlen);
		goto out;
	}
	bi->tags = calloc(BOOTSTRAP_MAX_TAGS, sizeof(*bi->tags));
	ret = -ENOMEM;
	if (!bi->tags)
		goto out;
	ret = erofs_device_tags(head, n, bi->tags, BOOTSTRAP_MAX_TAGS);
	if (ret < 0) {
		snprintf(err, errlen, "not an EROFS bootstrap with named data blobs");
		ret = -EINVAL;
		goto out;
	}
	bi->nr_blobs = ret;
	ret = 0;
out:
	free(head);
	return ret;
}

/*
 * A data blob whose bootstrap is inlined: keep the bootstrap in @bi
 * (boot_fd). 0 when there is one, -ENOENT when @fd is no such blob.
 */
static int take_inlined(int fd, uint64_t size, const char *inlined_id,
			struct bootstrap_info *bi, char *err, size_t errlen)
{
	int bfd, ret;

	ret = bootstrap_inline_extract(fd, size, &bfd, err, errlen);
	if (ret)
		return ret;
	if (!inlined_id) {
		close(bfd);
		snprintf(err, errlen, "a data blob with its bootstrap inlined, whose file name is not its blob id (64 hex digits): nydus takes the id from the name, rename it so");
		return -EINVAL;
	}
	bi->boot_fd = bfd;
	bi->boot_in_memory = true;
	return 0;
}

int bootstrap_read(const char *path, bool want_digests,
		   struct bootstrap_info *bi, char *err, size_t errlen)
{
	const char *inlined_id;
	char id[RAFS_BLOB_ID_LEN + 1];
	struct stat st;
	int fd, ret;

	memset(bi, 0, sizeof(*bi));
	/* Never wait on a FIFO or a device. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	ret = -EINVAL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto out;
	}
	inlined_id = bootstrap_inline_id(path, id) ? NULL : id;
	/* A bootstrap never ends in a ToC: look for one first. */
	ret = take_inlined(fd, st.st_size, inlined_id, bi, err, errlen);
	if (!ret)
		ret = fstat(bi->boot_fd, &st) ? -errno : 0;
	else if (ret == -ENOENT)
		ret = 0;
	if (ret)
		goto out;
	ret = read_bootstrap_fd(bi->boot_in_memory ? bi->boot_fd : fd, st.st_size,
				inlined_id, want_digests, bi, err, errlen);
	if (!ret && bi->boot_in_memory) {
		ret = bootstrap_memfd_seal(bi->boot_fd);
		if (ret)
			snprintf(err, errlen, "sealing the served bootstrap: %s",
				 strerror(-ret));
	}
out:
	if (ret)
		bootstrap_info_free(bi);
	close(fd);
	return ret;
}

int blob_source_bootstrap(struct blob_source *src,
			  const struct fscached_config *base,
			  const struct bootstrap_info *bi, const char *path)
{
	char fd_path[32];

	if (bi->boot_in_memory) {
		src->boot_fd = fcntl(bi->boot_fd, F_DUPFD_CLOEXEC, 0);
		if (src->boot_fd < 0)
			return -errno;
		src->has_boot_fd = true;
		snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d",
			 src->boot_fd);
		path = fd_path;
	}
	src->cfg = config_new_blob_file(base, path);
	src->local_bootstrap = true;
	if (!src->cfg) {
		blob_source_release(src);
		return -ENOMEM;
	}
	return 0;
}

void blob_source_release(struct blob_source *src)
{
	if (src->has_boot_fd)
		close(src->boot_fd);
	config_free(src->cfg);
	free(src->digests);
	free(src->prefetch);
	memset(src, 0, sizeof(*src));
}

int bootstrap_blob_index(const struct bootstrap_info *bi, const char *blob_id)
{
	unsigned int i;

	for (i = 0; i < bi->nr_blobs; i++)
		if (!strcmp(bi->tags[i], blob_id))
			return (int)i;
	return -1;
}

int bootstrap_blob_source(const struct bootstrap_info *bi, const char *blob_id,
			  struct blob_source *src)
{
	int i = bootstrap_blob_index(bi, blob_id);
	size_t n;

	if (i < 0 || !bi->rafs)
		return 0;
	src->is_rafs = true;
	src->rafs = bi->rafs[i];
	if (bi->digests && bi->digests[i]) {
		n = bi->nr_digests[i] * sizeof(*src->digests);
		src->digests = malloc(n);
		if (!src->digests)
			goto nomem;
		memcpy(src->digests, bi->digests[i], n);
		src->nr_digests = bi->nr_digests[i];
	}
	if (bi->prefetch && bi->nr_prefetch[i]) {
		n = bi->nr_prefetch[i] * sizeof(*src->prefetch);
		src->prefetch = malloc(n);
		if (!src->prefetch)
			goto nomem;
		memcpy(src->prefetch, bi->prefetch[i], n);
		src->nr_prefetch = bi->nr_prefetch[i];
	}
	return 0;
nomem:
	blob_source_release(src);
	return -ENOMEM;
}
