// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include "lib/compiler.h"
#include "serve.h"

bool serve_no_room(int err)
{
	/* ENOBUFS: the kernel's cachefiles refuses writes below bstop. */
	return err == -ENOSPC || err == -EDQUOT || err == -ENOBUFS;
}

int serve_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
	       struct io_buf *buf, struct space_culler *room,
	       uint64_t *no_room)
{
	int ret = -ENOSPC;

	if (!space_culler_full(room))
		ret = blob_cache_fill(bc, off, len, buf, 0);
	if (serve_no_room(ret)) {
		counter_add(no_room, 1);
		space_culler_note_full(room);
		if (space_culler_make_room(room, SERVE_ROOM_WAIT_MS) &&
		    !space_culler_full(room)) {
			ret = blob_cache_fill(bc, off, len, buf, 0);
			if (serve_no_room(ret))
				space_culler_note_full(room);
		}
	}
	if (!ret)
		space_culler_wrote(room);
	return ret;
}
