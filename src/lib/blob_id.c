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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool blob_id_sha256(const char *id, unsigned char md[32])
{
	unsigned int i;
	int hi, lo;

	if (!strncmp(id, "sha256:", 7))
		id += 7;
	if (strlen(id) != 64)
		return false;
	for (i = 0; i < 32; i++) {
		hi = hex_digit(id[2 * i]);
		lo = hex_digit(id[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		md[i] = hi << 4 | lo;
	}
	return true;
}
