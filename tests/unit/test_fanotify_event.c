// SPDX-License-Identifier: GPL-2.0
/*
 * The fanotify event decoder, fed what the kernel writes (metadata of 24
 * bytes, then a 24-byte range record, as read on 6.18) and what a buggy
 * kernel might.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "frontend/fanotify/event.h"
#include "harness.h"
#include "uapi/fanotify_hsm.h"

struct evbuf {
	unsigned char b[256];
	size_t len;
};

static void put_event(struct evbuf *e, uint64_t mask, int fd, uint64_t off,
		      uint64_t count, bool range)
{
	struct fanotify_event_metadata md = {
		.event_len = FAN_EVENT_METADATA_LEN,
		.vers = FANOTIFY_METADATA_VERSION,
		.metadata_len = FAN_EVENT_METADATA_LEN,
		.mask = mask,
		.fd = fd,
		.pid = 42,
	};
	struct fanotify_event_info_range r = {
		.hdr = { .info_type = FAN_EVENT_INFO_TYPE_RANGE, .len = sizeof(r) },
		.offset = off,
		.count = count,
	};

	if (range)
		md.event_len += sizeof(r);
	memcpy(e->b + e->len, &md, sizeof(md));
	if (range)
		memcpy(e->b + e->len + sizeof(md), &r, sizeof(r));
	e->len += md.event_len;
}

TEST(a_read_with_its_range)
{
	struct evbuf e = { .len = 0 };
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 7, 4096, 4096, true);
	ASSERT_EQ(48, e.len);
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_EQ(48, used);
	EXPECT_EQ(FAN_PRE_ACCESS, ev.mask);
	EXPECT_EQ(7, ev.fd);
	EXPECT_EQ(42, ev.pid);
	EXPECT_TRUE(ev.has_range);
	EXPECT_EQ(4096, ev.off);
	EXPECT_EQ(4096, ev.count);
}

TEST(two_events_in_one_read)
{
	struct evbuf e = { .len = 0 };
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 7, 0, 1 << 20, true);
	put_event(&e, FAN_Q_OVERFLOW, FAN_NOFD, 0, 0, false);
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_EQ(48, used);
	EXPECT_EQ(1 << 20, ev.count);
	ASSERT_EQ(0, fan_event_parse(e.b + used, e.len - used, &ev, &used));
	EXPECT_EQ(FAN_EVENT_METADATA_LEN, used);
	EXPECT_EQ(FAN_Q_OVERFLOW, ev.mask);
	EXPECT_EQ(-1, ev.fd);
	EXPECT_FALSE(ev.has_range);
}

TEST(a_truncate_has_count_zero)
{
	struct evbuf e = { .len = 0 };
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 9, 8192, 0, true);
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_TRUE(ev.has_range);
	EXPECT_EQ(0, ev.count);
}

TEST(inconsistent_lengths_stop_the_buffer)
{
	struct evbuf e = { .len = 0 };
	struct fanotify_event_metadata md;
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 7, 0, 4096, true);
	/* Shorter than the buffer holds, and longer than the buffer. */
	EXPECT_EQ(-EINVAL, fan_event_parse(e.b, 10, &ev, &used));
	EXPECT_EQ(10, used);
	EXPECT_EQ(-1, ev.fd);
	memcpy(&md, e.b, sizeof(md));
	md.event_len = 200;
	memcpy(e.b, &md, sizeof(md));
	EXPECT_EQ(-EINVAL, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_EQ(e.len, used);
	md.event_len = 8;
	memcpy(e.b, &md, sizeof(md));
	EXPECT_EQ(-EINVAL, fan_event_parse(e.b, e.len, &ev, &used));
	md.event_len = 48;
	md.metadata_len = 60;
	memcpy(e.b, &md, sizeof(md));
	EXPECT_EQ(-EINVAL, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_EQ(e.len, used);
}

TEST(another_version_is_skipped_by_its_length)
{
	struct evbuf e = { .len = 0 };
	struct fanotify_event_metadata md;
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 7, 0, 4096, true);
	put_event(&e, FAN_PRE_ACCESS, 8, 0, 4096, true);
	memcpy(&md, e.b, sizeof(md));
	md.vers = 4;
	memcpy(e.b, &md, sizeof(md));
	EXPECT_EQ(-EPROTO, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_EQ(48, used);
	ASSERT_EQ(0, fan_event_parse(e.b + used, e.len - used, &ev, &used));
	EXPECT_EQ(8, ev.fd);
}

TEST(bad_info_records_are_ignored)
{
	struct evbuf e = { .len = 0 };
	struct fanotify_event_info_header hdr;
	struct fan_event ev;
	size_t used;

	put_event(&e, FAN_PRE_ACCESS, 7, 4096, 4096, true);
	/* An info header longer than the event: no range taken from it. */
	memcpy(&hdr, e.b + FAN_EVENT_METADATA_LEN, sizeof(hdr));
	hdr.len = 200;
	memcpy(e.b + FAN_EVENT_METADATA_LEN, &hdr, sizeof(hdr));
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_FALSE(ev.has_range);
	/* A range record too short to hold a range. */
	hdr.len = 8;
	memcpy(e.b + FAN_EVENT_METADATA_LEN, &hdr, sizeof(hdr));
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_FALSE(ev.has_range);
	/* A zero-length header would loop forever: it ends the records. */
	hdr.len = 0;
	memcpy(e.b + FAN_EVENT_METADATA_LEN, &hdr, sizeof(hdr));
	ASSERT_EQ(0, fan_event_parse(e.b, e.len, &ev, &used));
	EXPECT_FALSE(ev.has_range);
	EXPECT_EQ(48, used);
}

TEST_HARNESS_MAIN
