// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "cachefiles_msg.h"
#include "uapi/cachefiles.h"

#define VOLUME_KEY_PREFIX	"erofs,"

const char *cachefiles_opcode_name(uint32_t opcode)
{
	switch (opcode) {
	case CACHEFILES_OP_OPEN: return "OPEN";
	case CACHEFILES_OP_CLOSE: return "CLOSE";
	case CACHEFILES_OP_READ: return "READ";
	}
	return "UNKNOWN";
}

static int parse_open(const uint8_t *payload, size_t size,
		      struct cachefiles_req *req)
{
	struct cachefiles_open open;
	uint64_t keys;

	req->open.fd = -1;
	if (size < sizeof(open))
		return -EBADMSG;
	memcpy(&open, payload, sizeof(open));
	/* The fd is real even if the rest lies: the caller may need it. */
	if (open.fd <= (uint32_t)INT32_MAX)
		req->open.fd = (int)open.fd;
	keys = (uint64_t)open.volume_key_size + open.cookie_key_size;
	if (keys != size - sizeof(open))
		return -EBADMSG;
	req->open.volume_key = (const char *)payload + sizeof(open);
	req->open.volume_key_size = open.volume_key_size;
	req->open.cookie_key = req->open.volume_key + open.volume_key_size;
	req->open.cookie_key_size = open.cookie_key_size;
	req->open.flags = open.flags;
	return 0;
}

static int parse_read(const uint8_t *payload, size_t size,
		      struct cachefiles_req *req)
{
	struct cachefiles_read rd;

	if (size != sizeof(rd))
		return -EBADMSG;
	memcpy(&rd, payload, sizeof(rd));
	if (rd.len == 0 || rd.off + rd.len < rd.off)
		return -EBADMSG;
	req->read.off = rd.off;
	req->read.len = rd.len;
	return 0;
}

int cachefiles_msg_parse(const void *buf, size_t len,
			 struct cachefiles_req *req)
{
	const uint8_t *bytes = buf;
	struct cachefiles_msg hdr;
	size_t size;

	memset(req, 0, sizeof(*req));
	req->open.fd = -1;
	if (len < sizeof(hdr) || len > CACHEFILES_MSG_MAX_SIZE)
		return -EBADMSG;
	memcpy(&hdr, bytes, sizeof(hdr));
	req->msg_id = hdr.msg_id;
	req->opcode = hdr.opcode;
	req->object_id = hdr.object_id;
	if (hdr.len != len)
		return -EBADMSG;
	size = len - sizeof(hdr);

	switch (hdr.opcode) {
	case CACHEFILES_OP_OPEN:
		return parse_open(bytes + sizeof(hdr), size, req);
	case CACHEFILES_OP_READ:
		return parse_read(bytes + sizeof(hdr), size, req);
	case CACHEFILES_OP_CLOSE:
		return size ? -EBADMSG : 0;
	}
	return -EOPNOTSUPP;
}

int cachefiles_open_names(const struct cachefiles_req *req,
			  struct cachefiles_open_names *names,
			  const char **why)
{
	const char *vk = req->open.volume_key;
	uint32_t vsize = req->open.volume_key_size;
	size_t plen = strlen(VOLUME_KEY_PREFIX), dlen;

	if (vsize < 1 || vk[vsize - 1] != '\0') {
		*why = "volume key is not NUL-terminated";
		return -EINVAL;
	}
	if (strlen(vk) != vsize - 1) {
		*why = "volume key has an embedded NUL";
		return -EINVAL;
	}
	if (strncmp(vk, VOLUME_KEY_PREFIX, plen)) {
		*why = "volume key is not of the form erofs,<domain>";
		return -EINVAL;
	}
	dlen = vsize - 1 - plen;
	if (!blob_id_valid(vk + plen, dlen)) {
		*why = "domain (fsid or domain_id) is not a safe name";
		return -EINVAL;
	}
	if (!blob_id_valid(req->open.cookie_key, req->open.cookie_key_size)) {
		*why = "blob id (cookie key) is not a safe name";
		return -EINVAL;
	}
	memcpy(names->domain, vk + plen, dlen);
	names->domain[dlen] = '\0';
	memcpy(names->blob_id, req->open.cookie_key,
	       req->open.cookie_key_size);
	names->blob_id[req->open.cookie_key_size] = '\0';
	return 0;
}
