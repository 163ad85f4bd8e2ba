// SPDX-License-Identifier: GPL-2.0
/* The decompressors are liblz4, libzstd and zlib: never our own. */
#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "decompress.h"
#include "rafs.h"

static int decompress_lz4(const void *src, size_t slen, void *dst, size_t dlen)
{
	int n;

	if (slen > LZ4_MAX_INPUT_SIZE || dlen > LZ4_MAX_INPUT_SIZE)
		return -EIO;
	n = LZ4_decompress_safe(src, dst, (int)slen, (int)dlen);
	return n == (int)dlen ? 0 : -EIO;
}

/* One decompression context per thread: a new one per chunk costs its
 * allocation (and page faults) every time. */
static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

static void zstd_ctx_free(void *ctx)
{
	ZSTD_freeDCtx(ctx);
}

static void zstd_key_init(void)
{
	if (pthread_key_create(&zstd_key, zstd_ctx_free))
		abort();
}

static int decompress_zstd(const void *src, size_t slen, void *dst, size_t dlen)
{
	ZSTD_DCtx *ctx;
	size_t n;

	pthread_once(&zstd_once, zstd_key_init);
	ctx = pthread_getspecific(zstd_key);
	if (!ctx) {
		ctx = ZSTD_createDCtx();
		if (!ctx)
			return -ENOMEM;
		if (pthread_setspecific(zstd_key, ctx)) {
			ZSTD_freeDCtx(ctx);
			return -ENOMEM;
		}
	}
	n = ZSTD_decompressDCtx(ctx, dst, dlen, src, slen);
	return !ZSTD_isError(n) && n == dlen ? 0 : -EIO;
}

/* Run @zs (initialised) until it ends or @dlen bytes are out. */
static int inflate_exact(z_stream *zs, void *dst, size_t dlen, bool member_end)
{
	int zret;

	zs->next_out = dst;
	zs->avail_out = (uInt)dlen;
	do {
		zret = inflate(zs, Z_NO_FLUSH);
	} while (zret == Z_OK && zs->avail_out);
	if (zs->avail_out)
		return -EIO;
	if (!member_end)
		return 0;
	/* Exactly dlen bytes: the member must end there, not later. */
	if (zret != Z_STREAM_END) {
		unsigned char extra;

		zs->next_out = &extra;
		zs->avail_out = 1;
		zret = inflate(zs, Z_NO_FLUSH);
		if (zret != Z_STREAM_END || zs->avail_out != 1)
			return -EIO;
	}
	return 0;
}

static int decompress_gzip(const void *src, size_t slen, void *dst, size_t dlen)
{
	z_stream zs;
	int ret;

	memset(&zs, 0, sizeof(zs));
	if (slen > UINT32_MAX || dlen > UINT32_MAX ||
	    inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -EIO;
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)slen;
	ret = inflate_exact(&zs, dst, dlen, true);
	inflateEnd(&zs);
	return ret;
}

int rafs_decompress(uint32_t compressor, const void *src, size_t slen,
		    void *dst, size_t dlen)
{
	switch (compressor) {
	case RAFS_COMP_NONE:
		if (slen != dlen)
			return -EIO;
		memcpy(dst, src, dlen);
		return 0;
	case RAFS_COMP_LZ4_BLOCK:
		return decompress_lz4(src, slen, dst, dlen);
	case RAFS_COMP_ZSTD:
		return decompress_zstd(src, slen, dst, dlen);
	case RAFS_COMP_GZIP:
		return decompress_gzip(src, slen, dst, dlen);
	}
	return -EIO;
}

/*
 * A gzip member ended inside a ZRan context: go on with the next one. The
 * first member was inflated raw (its trailer is still in the input); the
 * later ones are read as gzip, trailers included.
 */
static int zran_next_member(z_stream *zs, bool *gzip_mode)
{
	if (!*gzip_mode) {
		if (zs->avail_in < 8)
			return -EIO;
		zs->next_in += 8;
		zs->avail_in -= 8;
	}
	*gzip_mode = true;
	return inflateReset2(zs, 16 + MAX_WBITS) == Z_OK ? 0 : -EIO;
}

int rafs_zran_inflate(const void *src, size_t slen, uint8_t byte,
		      unsigned int bits, const void *dict, size_t dict_len,
		      void *dst, size_t out_len)
{
	bool gzip_mode = false;
	z_stream zs;
	int zret, ret = -EIO;

	memset(&zs, 0, sizeof(zs));
	if (slen > UINT32_MAX || out_len > UINT32_MAX || bits > 7 ||
	    inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return -EIO;
	if (bits && inflatePrime(&zs, (int)bits, byte >> (8 - bits)) != Z_OK)
		goto out;
	if (dict_len && inflateSetDictionary(&zs, dict, (uInt)dict_len) != Z_OK)
		goto out;
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)slen;
	zs.next_out = dst;
	zs.avail_out = (uInt)out_len;
	while (zs.avail_out) {
		zret = inflate(&zs, Z_NO_FLUSH);
		if (!zs.avail_out)
			break;
		if (zret == Z_STREAM_END) {
			if (!zs.avail_in || zran_next_member(&zs, &gzip_mode))
				goto out;
			continue;
		}
		if (zret != Z_OK)
			goto out;
	}
	ret = 0;
out:
	inflateEnd(&zs);
	return ret;
}
