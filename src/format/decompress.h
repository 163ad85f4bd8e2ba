/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chunk decompression for nydus blobs: none, lz4_block (a raw LZ4 block),
 * gzip (one member) and zstd (one frame). The output must be exactly
 * @dlen bytes: anything else is corrupt data, -EIO.
 */
#ifndef FSCACHED_FORMAT_DECOMPRESS_H
#define FSCACHED_FORMAT_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

int rafs_decompress(uint32_t compressor, const void *src, size_t slen,
		    void *dst, size_t dlen);

/*
 * ZRan: inflate @out_len bytes from raw deflate data @src that starts
 * mid-stream, after @bits (0..7) bits of @byte and with the 32 KiB (or
 * less) window @dict. Gzip member boundaries are crossed.
 */
int rafs_zran_inflate(const void *src, size_t slen, uint8_t byte,
		      unsigned int bits, const void *dict, size_t dict_len,
		      void *dst, size_t out_len);

#endif
