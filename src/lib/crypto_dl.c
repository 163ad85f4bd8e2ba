// SPDX-License-Identifier: GPL-2.0
/*
 * libcrypto, loaded at the first sha256, HMAC or base64 (see dlib.h): an
 * idle daemon, or one whose images need no digest, never maps it. The
 * functions below are OpenSSL's own, declared by its headers.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dlib.h"

#define CRYPTO_SYMS(X)							\
	X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex)	\
	X(EVP_DigestUpdate) X(EVP_DigestFinal_ex) X(EVP_Digest)	\
	X(EVP_sha1) X(EVP_sha256) X(EVP_EncodeBlock) X(HMAC)

#define CRYPTO_SLOT(n)	static __typeof__(n) *p_##n;
CRYPTO_SYMS(CRYPTO_SLOT)
#define CRYPTO_ENTRY(n)	{ #n, (void **)&p_##n },
static const struct dlib_sym crypto_syms[] = { CRYPTO_SYMS(CRYPTO_ENTRY) };
static struct dlib crypto_lib = DLIB_INIT("libcrypto.so.3", "libssl3", crypto_syms);

/*
 * Each entry point loads it, so that a failure reads as the library's
 * (logged once) and not as a crash: a NULL context or digest, or 0.
 */
const EVP_MD *EVP_sha256(void)
{
	return dlib_load(&crypto_lib) ? NULL : p_EVP_sha256();
}

const EVP_MD *EVP_sha1(void)
{
	return dlib_load(&crypto_lib) ? NULL : p_EVP_sha1();
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	return dlib_load(&crypto_lib) ? NULL : p_EVP_MD_CTX_new();
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
	if (ctx)
		p_EVP_MD_CTX_free(ctx);
}

/* The rest take a digest or a context that the calls above made. */
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
	return type ? p_EVP_DigestInit_ex(ctx, type, impl) : 0;
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
	return p_EVP_DigestUpdate(ctx, d, cnt);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
	return p_EVP_DigestFinal_ex(ctx, md, s);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md,
	       unsigned int *size, const EVP_MD *type, ENGINE *impl)
{
	return type ? p_EVP_Digest(data, count, md, size, type, impl) : 0;
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
		    const unsigned char *data, size_t data_len,
		    unsigned char *md, unsigned int *md_len)
{
	return evp_md ? p_HMAC(evp_md, key, key_len, data, data_len, md, md_len) : NULL;
}

int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
	return dlib_load(&crypto_lib) ? 0 : p_EVP_EncodeBlock(t, f, n);
}
