/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reusable I/O buffer owned by its caller, aligned for O_DIRECT (the
 * cache files are written that way), e.g. one per worker thread.
 */
#ifndef FSCACHED_IO_BUF_H
#define FSCACHED_IO_BUF_H

#include <stdbool.h>
#include <stddef.h>

#define IO_BUF_ALIGN	4096

struct io_buf {
	void *data;
	size_t size;		/* a multiple of IO_BUF_ALIGN */
	bool populated;
};

/* No memory is touched until io_buf_populate() or the first use. */
int io_buf_init(struct io_buf *buf, size_t size);
/* Before the first fill: every page in at once, not a fault at a time. */
void io_buf_populate(struct io_buf *buf);
void io_buf_release(struct io_buf *buf);

#endif
