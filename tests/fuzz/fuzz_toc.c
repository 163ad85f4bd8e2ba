// SPDX-License-Identifier: GPL-2.0
/*
 * A nydus data blob's tail, as a validated OPEN fetches it: the ToC
 * entries and their tar header, and the tar headers of its sections.
 */
#include <string.h>

#include "format/toc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blob_toc toc;
	char err[256], name[101];
	uint64_t len;
	unsigned int i;

	if (size >= TAR_HEADER_SIZE && !tar_header_parse(data, name, &len))
		FUZZ_CHECK(strlen(name) <= 100);
	if (blob_toc_parse(data, size, NULL, &toc, err, sizeof(err)))
		return 0;
	FUZZ_CHECK(toc.nr <= TOC_MAX_ENTRIES);
	FUZZ_CHECK((size_t)toc.nr * TOC_ENTRY_SIZE + TAR_HEADER_SIZE <= size);
	for (i = 0; i < toc.nr; i++)
		FUZZ_CHECK(strlen(toc.entries[i].name) <= 16);
	return 0;
}
