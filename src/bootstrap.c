// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap.h"
#include "config.h"
#include "log.h"

/* Superblocks and the largest device table (256 slots). */
#define BOOTSTRAP_HEAD_MAX	(64U << 10)
/* Chunk tables are read whole: bound what a hostile image can ask. */
#define CHUNK_TABLE_MAX		(1ULL << 30)

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

void bootstrap_info_free(struct bootstrap_info *bi)
{
	unsigned int i;

	if (bi->digests)
		for (i = 0; i < bi->nr_blobs; i++)
			free(bi->digests[i]);
	free(bi->digests);
	free(bi->tags);
	free(bi->rafs);
	memset(bi, 0, sizeof(*bi));
}

/*
 * Each blob's chunk digests, in ci order, from the chunk table.
 */
static int read_digests(int fd, const struct rafs_super *sb,
			struct bootstrap_info *bi, char *err, size_t errlen)
{
	struct rafs_chunk_record r;
	unsigned char *table, **seen;
	uint64_t i, nr = sb->chunk_table_size / RAFS_CHUNK_RECORD_SIZE;
	unsigned int b;
	int ret;

	if (sb->chunk_table_size > CHUNK_TABLE_MAX) {
		snprintf(err, errlen, "ext superblock chunk_table_size %llu is too large",
			 (unsigned long long)sb->chunk_table_size);
		return -EINVAL;
	}
	bi->digests = calloc(bi->nr_blobs, sizeof(*bi->digests));
	seen = calloc(bi->nr_blobs, sizeof(*seen));
	table = malloc(sb->chunk_table_size ? sb->chunk_table_size : 1);
	ret = -ENOMEM;
	if (!bi->digests || !seen || !table)
		goto out;
	for (b = 0; b < bi->nr_blobs; b++) {
		bi->digests[b] = calloc(bi->rafs[b].chunk_count, 32);
		seen[b] = calloc((bi->rafs[b].chunk_count + 7) / 8, 1);
		if (!bi->digests[b] || !seen[b])
			goto out;
	}
	ret = read_at(fd, table, sb->chunk_table_size, sb->chunk_table_offset);
	if (ret) {
		snprintf(err, errlen, "reading the chunk table: %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < nr; i++) {
		rafs_chunk_record_decode(table + i * RAFS_CHUNK_RECORD_SIZE, &r);
		if (r.blob_index >= bi->nr_blobs ||
		    r.index >= bi->rafs[r.blob_index].chunk_count) {
			snprintf(err, errlen, "chunk table record %llu: blob_index %u, index %u out of bounds",
				 (unsigned long long)i, r.blob_index, r.index);
			ret = -EINVAL;
			goto out;
		}
		memcpy(bi->digests[r.blob_index] + (size_t)r.index * 32, r.digest, 32);
		seen[r.blob_index][r.index / 8] |= 1 << (r.index % 8);
	}
	/*
	 * A chunk no file of the merged image uses has no record: its
	 * digest stays zero, and it is written unchecked (no reader sees it).
	 */
	for (b = 0; b < bi->nr_blobs; b++) {
		uint64_t missing = 0;

		for (i = 0; i < bi->rafs[b].chunk_count; i++)
			missing += !(seen[b][i / 8] & (1 << (i % 8)));
		if (missing)
			log_debug("blob %s: %llu of %u chunks have no digest in the chunk table (no file uses them)",
				  bi->rafs[b].id, (unsigned long long)missing,
				  bi->rafs[b].chunk_count);
	}
	ret = 0;
out:
	if (seen)
		for (b = 0; b < bi->nr_blobs; b++)
			free(seen[b]);
	free(seen);
	free(table);
	return ret;
}

static int read_rafs(int fd, const struct rafs_super *sb, const void *head,
		     size_t head_len, bool want_digests,
		     struct bootstrap_info *bi, char *err, size_t errlen)
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
	ret = read_at(fd, table, sb->blob_table_size, sb->blob_table_offset);
	if (ret) {
		snprintf(err, errlen, "reading the blob table: %s", strerror(-ret));
		goto out;
	}
	ret = rafs_blob_table_parse(sb, head, head_len, table,
				    sb->blob_table_size, bi->rafs, err, errlen);
	if (ret)
		goto out;
	for (i = 0; i < bi->nr_blobs; i++)
		memcpy(bi->tags[i], bi->rafs[i].id, sizeof(bi->tags[i]));
	if (want_digests)
		ret = read_digests(fd, sb, bi, err, errlen);
out:
	free(table);
	return ret;
}

int bootstrap_read(const char *path, bool want_digests,
		   struct bootstrap_info *bi, char *err, size_t errlen)
{
	struct rafs_super sb;
	unsigned char *head;
	struct stat st;
	ssize_t n;
	int fd, ret;

	memset(bi, 0, sizeof(*bi));
	/* Never wait on a FIFO or a device. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	head = malloc(BOOTSTRAP_HEAD_MAX);
	ret = -ENOMEM;
	if (!head)
		goto out;
	ret = -EINVAL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto out;
	}
	n = pread(fd, head, BOOTSTRAP_HEAD_MAX, 0);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	ret = rafs_super_parse(head, n, st.st_size, &sb, err, errlen);
	if (ret)
		goto out;
	if (sb.is_rafs) {
		ret = read_rafs(fd, &sb, head, n, want_digests, bi, err, errlen);
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
	if (ret)
		bootstrap_info_free(bi);
	free(head);
	close(fd);
	return ret;
}

void blob_source_release(struct blob_source *src)
{
	config_free(src->cfg);
	free(src->digests);
	memset(src, 0, sizeof(*src));
}
