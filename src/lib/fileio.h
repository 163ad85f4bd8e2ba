/* SPDX-License-Identifier: GPL-2.0 */
/* Whole reads and writes at an offset: EINTR and short transfers retried. */
#ifndef FSCACHED_FILEIO_H
#define FSCACHED_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* 0, -errno, or -EIO at end of file. */
int pread_full(int fd, void *buf, size_t len, off_t off);
/* 0, -errno, or -EIO when nothing could be written. */
int pwrite_full(int fd, const void *buf, size_t len, off_t off);

/* Where a part of a file goes: what is between parts stays a hole. */
struct file_part {
	const void *buf;
	size_t len;
	off_t off;
};

/*
 * Write @path whole or not at all: the parts into a temporary file beside
 * it, fsync, rename. 0 or -errno (nothing is left behind then).
 */
int file_write_atomic(const char *path, const struct file_part *parts,
		      unsigned int n);

#endif
