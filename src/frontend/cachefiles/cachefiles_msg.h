/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and validation of /dev/cachefiles messages. Pure functions of the
 * bytes: no fds are touched here, so they are unit-tested and fuzzed as is.
 */
#ifndef FSCACHED_CACHEFILES_MSG_H
#define FSCACHED_CACHEFILES_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/blob_id.h"

struct cachefiles_req {
	uint32_t msg_id;
	uint32_t opcode;
	uint32_t object_id;
	union {
		struct {
			const char *volume_key;	/* NUL-terminated */
			uint32_t volume_key_size;	/* NUL included */
			const char *cookie_key;	/* NOT NUL-terminated */
			uint32_t cookie_key_size;
			int fd;
			uint32_t flags;
		} open;
		struct {
			uint64_t off;
			uint64_t len;
		} read;
	};
};

/*
 * Split a message into its fields. Returns 0, or:
 *   -EBADMSG	the header or the payload layout is inconsistent
 *		(but when at least the header is whole, @req->msg_id and
 *		@req->opcode are set, and for OPEN @req->open.fd is set or -1)
 *   -EOPNOTSUPP an opcode this daemon does not know
 */
int cachefiles_msg_parse(const void *buf, size_t len,
			 struct cachefiles_req *req);

/* The names an OPEN asks for, checked and copied out as C strings. */
struct cachefiles_open_names {
	char domain[BLOB_ID_MAX + 1];	/* fsid or domain_id */
	char blob_id[BLOB_ID_MAX + 1];	/* cookie key */
};

/*
 * Check an OPEN's keys: the volume key must be "erofs,<domain>" with a safe
 * domain, the cookie key a safe blob id. Returns 0 or -EINVAL with @why set
 * to a static reason.
 */
int cachefiles_open_names(const struct cachefiles_req *req,
			  struct cachefiles_open_names *names,
			  const char **why);

const char *cachefiles_opcode_name(uint32_t opcode);

#endif
