// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/digest.h"
#include "bytes.h"
#include "lib/errmsg.h"
#include "toc.h"

#define TAR_NAME	0
#define TAR_SIZE	124
#define TAR_CHKSUM	148
#define TAR_MAGIC	257

/* An octal field of @len bytes: digits, then NUL or spaces. */
static int octal(const unsigned char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	if (i == len || p[i] < '0' || p[i] > '7')
		return -EINVAL;
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 60)
			return -EINVAL;
		v = v * 8 + (p[i] - '0');
	}
	for (; i < len; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -EINVAL;
	*out = v;
	return 0;
}

int tar_header_parse(const void *hdr, char name[101], uint64_t *size)
{
	const unsigned char *h = hdr;
	uint64_t want, sum = 0;
	size_t i;

	if (memcmp(h + TAR_MAGIC, "ustar", 5) ||
	    octal(h + TAR_CHKSUM, 8, &want) || octal(h + TAR_SIZE, 12, size))
		return -EINVAL;
	/* The checksum counts its own field as spaces. */
	for (i = 0; i < TAR_HEADER_SIZE; i++)
		sum += (i >= TAR_CHKSUM && i < TAR_CHKSUM + 8) ? ' ' : h[i];
	if (sum != want)
		return -EINVAL;
	memcpy(name, h + TAR_NAME, 100);
	name[100] = '\0';
	return 0;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

int blob_toc_parse(const void *tail, size_t len, const unsigned char *digest,
		   struct blob_toc *toc, char *err, size_t errlen)
{
	const unsigned char *t = tail, *hdr, *e;
	unsigned char md[DIGEST_SIZE];
	char name[101];
	uint64_t size;
	unsigned int i;

	if (len < TAR_HEADER_SIZE)
		return err_einval(err, errlen, "ToC: %zu bytes is too short", len);
	hdr = t + len - TAR_HEADER_SIZE;
	if (tar_header_parse(hdr, name, &size) || strcmp(name, "rafs.blob.toc"))
		return err_einval(err, errlen, "ToC: the blob does not end with a valid tar header \"rafs.blob.toc\" (bad magic or checksum)");
	if (size % TOC_ENTRY_SIZE || size / TOC_ENTRY_SIZE > TOC_MAX_ENTRIES ||
	    size > len - TAR_HEADER_SIZE)
		return err_einval(err, errlen, "ToC: size %llu is not up to %d entries of %d bytes within the %zu read",
				   (unsigned long long)size, TOC_MAX_ENTRIES,
				   TOC_ENTRY_SIZE, len);
	e = hdr - size;
	if (digest && !all_zero(digest, DIGEST_SIZE)) {
		if (digest_buf(DIGEST_SHA256, e, size + TAR_HEADER_SIZE, md) ||
		    memcmp(md, digest, DIGEST_SIZE))
			return err_einval(err, errlen, "ToC: its sha256 differs from the blob table's blob_toc_digest");
	}
	toc->nr = size / TOC_ENTRY_SIZE;
	for (i = 0; i < toc->nr; i++, e += TOC_ENTRY_SIZE) {
		struct toc_entry *te = &toc->entries[i];

		te->flags = get_le32(e);
		memcpy(te->name, e + 8, 16);
		te->name[16] = '\0';
		memcpy(te->sha256, e + 24, 32);
		te->c_off = get_le64(e + 56);
		te->c_size = get_le64(e + 64);
		te->u_size = get_le64(e + 72);
	}
	return 0;
}

const struct toc_entry *blob_toc_find(const struct blob_toc *toc,
				      const char *name)
{
	unsigned int i;

	for (i = 0; i < toc->nr; i++)
		if (!strcmp(toc->entries[i].name, name))
			return &toc->entries[i];
	return NULL;
}
