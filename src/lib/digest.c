// SPDX-License-Identifier: GPL-2.0
#include <blake3.h>
#include <errno.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>

#include "digest.h"

int digest_buf(enum digest_alg alg, const void *data, size_t len,
	       unsigned char out[DIGEST_SIZE])
{
	blake3_hasher h;
	unsigned int n;

	switch (alg) {
	case DIGEST_BLAKE3:
		blake3_hasher_init(&h);
		blake3_hasher_update(&h, data, len);
		blake3_hasher_finalize(&h, out, DIGEST_SIZE);
		return 0;
	case DIGEST_SHA256:
		return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) &&
		       n == DIGEST_SIZE ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

int digest_sha256_parts(const struct iovec *iov, unsigned int n,
			unsigned char out[DIGEST_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int i, len = 0;
	int ok;

	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, iov[i].iov_base, iov[i].iov_len);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) && len == DIGEST_SIZE;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

uint32_t crc32c(const void *data, size_t len)
{
	uint32_t crc = 0xFFFFFFFFU;
	const unsigned char *p = data;

	/* ISA-L takes an int length, and neither inverts. */
	while (len) {
		int n = len > (1U << 30) ? 1 << 30 : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= n;
	}
	return crc ^ 0xFFFFFFFFU;
}

void digest_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
