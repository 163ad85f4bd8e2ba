/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The fanotify pre-content ABI of Linux 6.14+ (include/uapi/linux/fanotify.h,
 * the same from 6.18 to 7.3), for systems whose headers predate it.
 */
#ifndef FSCACHED_UAPI_FANOTIFY_HSM_H
#define FSCACHED_UAPI_FANOTIFY_HSM_H

#include <linux/fanotify.h>
#include <linux/types.h>

#ifndef FAN_PRE_ACCESS
#define FAN_PRE_ACCESS			0x00100000
#endif
#ifndef FAN_CLASS_PRE_CONTENT
#define FAN_CLASS_PRE_CONTENT		0x00000008
#endif
#ifndef FAN_EVENT_INFO_TYPE_RANGE
#define FAN_EVENT_INFO_TYPE_RANGE	6

struct fanotify_event_info_range {
	struct fanotify_event_info_header hdr;
	__u32 pad;
	__u64 offset;
	__u64 count;
};
#endif
#ifndef FAN_ERRNO_SHIFT
#define FAN_ERRNO_BITS			8
#define FAN_ERRNO_SHIFT			(32 - FAN_ERRNO_BITS)
#define FAN_ERRNO_MASK			((1 << FAN_ERRNO_BITS) - 1)
#define FAN_DENY_ERRNO(err)						\
	(FAN_DENY | ((((__u32)(err)) & FAN_ERRNO_MASK) << FAN_ERRNO_SHIFT))
#endif

#endif
