// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "blob_id.h"

static bool blob_id_char_ok(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return !strchr("/\\\"'`$*?", c);
}

bool blob_id_valid(const char *id, size_t len)
{
	size_t i;

	if (!id || len == 0 || len > BLOB_ID_MAX)
		return false;
	/* "." and ".." and hidden names: never a blob, often an attack. */
	if (id[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (!blob_id_char_ok(id[i]))
			return false;
		if (i + 1 < len && id[i] == '.' && id[i + 1] == '.')
			return false;
	}
	return true;
}
