/* SPDX-License-Identifier: GPL-2.0 */
/* A range of a blob's cache space, e.g. a file named for prefetch. */
#ifndef FSCACHED_BLOB_RANGE_H
#define FSCACHED_BLOB_RANGE_H

#include <stdint.h>

struct blob_range {
	uint64_t off;
	uint64_t len;
};

#endif
