// SPDX-License-Identifier: GPL-2.0
/*
 * An EROFS image's head, as fscached reads it from a backend (superblock
 * summary) or from a bootstrap given to PUT /api/v2/blobs (device tags).
 */
#include <string.h>

#include "format/erofs.h"
#include "fuzz.h"

#define MAX_TAGS	256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tags[MAX_TAGS][EROFS_DEVICE_TAG_MAX + 1];
	struct erofs_sb_summary sb;
	int n, i;

	erofs_sb_parse(data, size, &sb);
	n = erofs_device_tags(data, size, tags, MAX_TAGS);
	FUZZ_CHECK(n <= MAX_TAGS);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(memchr(tags[i], '\0', sizeof(tags[i])));
		FUZZ_CHECK(tags[i][0]);
	}
	return 0;
}
