// SPDX-License-Identifier: GPL-2.0
/*
 * A chunk's stored bytes, as a backend returns them: decompressed with
 * each compressor to the length the blob meta gives (byte 0: compressor,
 * bytes 1-3: u_size), and inflated as a ZRan context (byte 4: context
 * bits, 5: context byte, 6-7: dictionary length taken from the input).
 */
#include <stdlib.h>
#include <string.h>

#include "format/decompress.h"
#include "format/rafs.h"
#include "fuzz.h"

#define HDR	8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dlen, dict_len;
	unsigned char *out;
	int ret;

	if (size < HDR)
		return 0;
	dlen = (data[1] | data[2] << 8 | (size_t)data[3] << 16) % (4U << 20) + 1;
	out = malloc(dlen);
	if (!out)
		return 0;
	ret = rafs_decompress(data[0] % 5, data + HDR, size - HDR, out, dlen);
	FUZZ_CHECK(ret == 0 || ret == -5);
	dict_len = (data[6] | data[7] << 8) % 32769;
	if (dict_len <= size - HDR) {
		ret = rafs_zran_inflate(data + HDR + dict_len, size - HDR - dict_len,
					data[5], data[4] % 8, data + HDR, dict_len,
					out, dlen);
		FUZZ_CHECK(ret == 0 || ret == -5);
	}
	free(out);
	return 0;
}
