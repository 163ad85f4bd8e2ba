/* SPDX-License-Identifier: GPL-2.0 */
/* Little-endian fields of on-disk formats, read from unaligned bytes. */
#ifndef FSCACHED_FORMAT_BYTES_H
#define FSCACHED_FORMAT_BYTES_H

#include <stdint.h>

static inline uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

#endif
