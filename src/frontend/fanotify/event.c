// SPDX-License-Identifier: GPL-2.0
/*
 * fanotify event records: struct fanotify_event_metadata, then info
 * records, of which only the range (type 6, 24 bytes) matters here.
 */
#include <errno.h>
#include <string.h>

#include "event.h"
#include "uapi/fanotify_hsm.h"

static void parse_info(const unsigned char *p, size_t len,
		       struct fan_event *ev)
{
	struct fanotify_event_info_header hdr;
	struct fanotify_event_info_range range;

	while (len >= sizeof(hdr)) {
		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || hdr.len > len)
			return;
		if (hdr.info_type == FAN_EVENT_INFO_TYPE_RANGE &&
		    hdr.len >= sizeof(range)) {
			memcpy(&range, p, sizeof(range));
			ev->has_range = true;
			ev->off = range.offset;
			ev->count = range.count;
		}
		p += hdr.len;
		len -= hdr.len;
	}
}

int fan_event_parse(const void *buf, size_t len, struct fan_event *ev,
		    size_t *used)
{
	struct fanotify_event_metadata md;

	memset(ev, 0, sizeof(*ev));
	ev->fd = -1;
	*used = len;
	if (len < sizeof(md))
		return -EINVAL;
	memcpy(&md, buf, sizeof(md));
	if (md.event_len < FAN_EVENT_METADATA_LEN || md.event_len > len)
		return -EINVAL;
	*used = md.event_len;
	if (md.vers != FANOTIFY_METADATA_VERSION)
		return -EPROTO;
	if (md.metadata_len < FAN_EVENT_METADATA_LEN ||
	    md.metadata_len > md.event_len) {
		*used = len;
		return -EINVAL;
	}
	ev->mask = md.mask;
	ev->fd = md.fd;
	ev->pid = md.pid;
	parse_info((const unsigned char *)buf + md.metadata_len,
		   md.event_len - md.metadata_len, ev);
	return 0;
}
