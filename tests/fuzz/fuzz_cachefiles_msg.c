// SPDX-License-Identifier: GPL-2.0
/* What the kernel writes on /dev/cachefiles, as the front end parses it. */
#include <string.h>

#include "frontend/cachefiles/cachefiles_msg.h"
#include "fuzz.h"
#include "uapi/cachefiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A read(2) of the device gives at most this, suitably aligned. */
	static uint64_t buf[CACHEFILES_MSG_MAX_SIZE / sizeof(uint64_t)];
	struct cachefiles_open_names names;
	struct cachefiles_req req;
	const char *why;
	int ret;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	ret = cachefiles_msg_parse(buf, size, &req);
	if (ret || req.opcode != CACHEFILES_OP_OPEN)
		return 0;
	FUZZ_CHECK((const char *)req.open.volume_key >= (const char *)buf &&
		   req.open.cookie_key + req.open.cookie_key_size <=
		   (const char *)buf + size);
	if (!cachefiles_open_names(&req, &names, &why)) {
		FUZZ_CHECK(blob_id_valid(names.blob_id, strlen(names.blob_id)));
		FUZZ_CHECK(blob_id_valid(names.domain, strlen(names.domain)));
	}
	return 0;
}
