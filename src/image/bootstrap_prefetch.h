/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_BOOTSTRAP_PREFETCH_H
#define FSCACHED_BOOTSTRAP_PREFETCH_H

#include <stdint.h>

#include "bootstrap.h"
#include "format/rafs.h"

/*
 * Fill @bi->prefetch from the prefetch table of the bootstrap open at @fd
 * (@size bytes; @sb its superblock): each blob's ranges sorted and merged.
 * Bad entries are skipped. 0, or -ENOMEM or an I/O error.
 */
int bootstrap_read_prefetch(int fd, const struct rafs_super *sb, uint64_t size,
			    struct bootstrap_info *bi);

#endif
