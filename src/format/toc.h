/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ToC at the end of a nydus data blob (HAS_TOC): 128-byte entries
 * naming the blob's sections (blob.meta, blob.digest, image.boot...), then
 * a 512-byte GNU tar header "rafs.blob.toc"; each section is itself
 * followed by a tar header (HAS_TAR_HEADER). Pure functions of bytes.
 */
#ifndef FSCACHED_FORMAT_TOC_H
#define FSCACHED_FORMAT_TOC_H

#include <stddef.h>
#include <stdint.h>

#define TAR_HEADER_SIZE		512
#define TOC_ENTRY_SIZE		128
#define TOC_MAX_ENTRIES		64
/* What to read at the blob's end when the table gives no ToC size. */
#define TOC_DEFAULT_TAIL	4096

/* ToC entry flags: how the section is stored */
#define TOC_COMP_NONE		0x1
#define TOC_COMP_ZSTD		0x2
#define TOC_COMP_LZ4		0x4

struct toc_entry {
	char name[17];
	uint32_t flags;
	unsigned char sha256[32];	/* of the uncompressed section */
	uint64_t c_off;
	uint64_t c_size;
	uint64_t u_size;
};

struct blob_toc {
	unsigned int nr;
	struct toc_entry entries[TOC_MAX_ENTRIES];
};

/*
 * A tar header: its checksum, the ustar magic, and its name and size.
 * 0, or -EINVAL.
 */
int tar_header_parse(const void *hdr, char name[101], uint64_t *size);

/*
 * The ToC in @tail, the last @len bytes of a blob: its header at the very
 * end, its entries before that. With @digest (not all zero), the sha256 of
 * entries and header must match it. -EINVAL with @err.
 */
int blob_toc_parse(const void *tail, size_t len, const unsigned char *digest,
		   struct blob_toc *toc, char *err, size_t errlen);

const struct toc_entry *blob_toc_find(const struct blob_toc *toc,
				      const char *name);

#endif
