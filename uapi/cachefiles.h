/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The cachefiles on-demand ABI (Linux >= 5.19), as the kernel speaks it on
 * /dev/cachefiles. Our own copy so that the build does not depend on the
 * host's linux-libc-dev, which may predate it.
 *
 * The daemon reads one message per read(2) (at most CACHEFILES_MSG_MAX_SIZE
 * bytes) and answers:
 *   OPEN  -> write "copen <msg_id>,<size>" (or a negative errno) to the device
 *   READ  -> pwrite the range into the object's anonymous fd, then
 *            ioctl(anon_fd, CACHEFILES_IOC_READ_COMPLETE, msg_id)
 *   CLOSE -> close the object's anonymous fd (no reply)
 * All fields are little-endian, as on every architecture Linux runs this on.
 */
#ifndef FSCACHED_UAPI_CACHEFILES_H
#define FSCACHED_UAPI_CACHEFILES_H

#include <stdint.h>
#include <sys/ioctl.h>

#define CACHEFILES_MSG_MAX_SIZE	1024

enum cachefiles_opcode {
	CACHEFILES_OP_OPEN = 0,
	CACHEFILES_OP_CLOSE = 1,
	CACHEFILES_OP_READ = 2,
};

/*
 * @msg_id:	request id, echoed in copen / READ_COMPLETE
 * @opcode:	enum cachefiles_opcode
 * @len:	length of the whole message, header included
 * @object_id:	the cache object the request is about
 * @data:	opcode-specific payload
 */
struct cachefiles_msg {
	uint32_t msg_id;
	uint32_t opcode;
	uint32_t len;
	uint32_t object_id;
	uint8_t data[];
};

/*
 * OPEN payload.
 * @volume_key_size:	bytes of the volume key, its NUL included
 * @cookie_key_size:	bytes of the cookie key (not NUL-terminated)
 * @fd:			anonymous fd of the cache file, already installed in
 *			the daemon's fd table
 * @flags:		unused by the kernel so far
 * @data:		volume key ("erofs,<fsid or domain_id>\0") then cookie
 *			key (the blob id)
 */
struct cachefiles_open {
	uint32_t volume_key_size;
	uint32_t cookie_key_size;
	uint32_t fd;
	uint32_t flags;
	uint8_t data[];
};

/*
 * READ payload.
 * @off:	offset of the range the kernel needs, in bytes
 * @len:	length of the range
 */
struct cachefiles_read {
	uint64_t off;
	uint64_t len;
};

#define CACHEFILES_IOC_READ_COMPLETE	_IOW(0x98, 1, int)

_Static_assert(sizeof(struct cachefiles_msg) == 16, "cachefiles_msg ABI");
_Static_assert(sizeof(struct cachefiles_open) == 16, "cachefiles_open ABI");
_Static_assert(sizeof(struct cachefiles_read) == 16, "cachefiles_read ABI");

#endif
