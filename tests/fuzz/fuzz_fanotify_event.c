// SPDX-License-Identifier: GPL-2.0
/* What read(2) of a fanotify group gives, as the front end walks it. */
#include <string.h>

#include "frontend/fanotify/event.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t buf[65536 / sizeof(uint64_t)];
	const unsigned char *p = (const unsigned char *)buf;
	struct fan_event ev;
	size_t used, left;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	for (left = size; left; left -= used, p += used) {
		fan_event_parse(p, left, &ev, &used);
		/* Always progress, never past the end. */
		FUZZ_CHECK(used > 0 && used <= left);
	}
	return 0;
}
