/* SPDX-License-Identifier: GPL-2.0 */
/* Chunk digests: sha256 (OpenSSL), blake3 (libblake3), CRC-32C (ISA-L). */
#ifndef FSCACHED_DIGEST_H
#define FSCACHED_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DIGEST_SIZE	32

enum digest_alg {
	DIGEST_BLAKE3 = 0,	/* the values of nydus' digester field */
	DIGEST_SHA256 = 1,
};

/* 0, or -EINVAL for an unknown @alg, -ENOMEM */
int digest_buf(enum digest_alg alg, const void *data, size_t len,
	       unsigned char out[DIGEST_SIZE]);
/* sha256 of the @n parts of @iov, one after another, with no copy. */
int digest_sha256_parts(const struct iovec *iov, unsigned int n,
			unsigned char out[DIGEST_SIZE]);
uint32_t crc32c(const void *data, size_t len);
/* @n bytes as 2 * @n lower-case hex digits and a NUL into @out. */
void digest_hex(const unsigned char *in, size_t n, char *out);

#endif
