/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bootstrap inlined in its own data blob (nydus-image --blob-inline-meta,
 * one layer used on its own): the blob's ToC names it "image.boot", stored
 * or zstd-compressed. nydusd takes such a blob's id from the file's name,
 * since the id inside may be stale or a placeholder; so do we.
 */
#ifndef FSCACHED_BOOTSTRAP_INLINE_H
#define FSCACHED_BOOTSTRAP_INLINE_H

#include <stddef.h>
#include <stdint.h>

/* What an inlined bootstrap may be: the largest image.boot we extract. */
#define BOOTSTRAP_INLINE_MAX	(256ULL << 20)

/*
 * Extract the bootstrap inlined in the data blob @fd (@size bytes) into a
 * new memfd, *@out, not yet sealed. -ENOENT when the blob has no ToC or no
 * image.boot (it is not such a blob); -EINVAL with @err for a bad one.
 */
int bootstrap_inline_extract(int fd, uint64_t size, int *out, char *err,
			     size_t errlen);

/*
 * A bootstrap the kernel reads from memory: a new memfd holding @len bytes
 * of @buf (or -errno), then sealed, so that it can change no more.
 */
int bootstrap_memfd_of(const void *buf, size_t len);
int bootstrap_memfd_seal(int fd);

/*
 * A copy of the bootstrap in memfd @boot_fd as a new regular file in @dir
 * (@path gets its name, hidden: a dot name), for a kernel that mounts only
 * a file with a page cache of its own (file-backed EROFS takes no memfd).
 * The caller unlinks it once mounted: the mount holds it open.
 */
int bootstrap_to_file(int boot_fd, const char *dir, char *path, size_t len);

/*
 * The blob id in @path's file name (its stem: the name without what follows
 * its last '.'), if that is 64 lower-case hex digits. 0 or -EINVAL.
 */
int bootstrap_inline_id(const char *path, char id[65]);

#endif
