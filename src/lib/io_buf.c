// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "compiler.h"
#include "io_buf.h"

int io_buf_init(struct io_buf *buf, size_t size)
{
	size = ALIGN_UP(size, IO_BUF_ALIGN);
	if (posix_memalign(&buf->data, IO_BUF_ALIGN, size))
		return -ENOMEM;
	buf->size = size;
	return 0;
}

void io_buf_release(struct io_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->size = 0;
}
