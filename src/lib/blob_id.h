/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_BLOB_ID_H
#define FSCACHED_BLOB_ID_H

#include <stdbool.h>
#include <stddef.h>

/* Longest blob id or domain id accepted: a file name component. */
#define BLOB_ID_MAX	255

/*
 * A blob id (and a domain id) names a file in a directory and a key in URLs,
 * so it must be one safe path component: 1..255 printable ASCII bytes, no
 * '/', no "..", no leading '.', no spaces or shell-ish quoting characters.
 */
bool blob_id_valid(const char *id, size_t len);

/*
 * Whether @id names its blob by content: 64 lowercase hex digits, the
 * sha256 of the blob (registry blobs, nydus data blobs), optionally after
 * "sha256:". The digest goes to @md.
 */
bool blob_id_sha256(const char *id, unsigned char md[32]);

#endif
