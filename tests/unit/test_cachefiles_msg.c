// SPDX-License-Identifier: GPL-2.0
/* The /dev/cachefiles message parser, fed what a buggy or hostile kernel might send. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "frontend/cachefiles/cachefiles_msg.h"
#include "harness.h"
#include "uapi/cachefiles.h"

struct msgbuf {
	uint8_t b[2048];
	size_t len;
};

static void put_hdr(struct msgbuf *m, uint32_t id, uint32_t op, uint32_t len,
		    uint32_t obj)
{
	struct cachefiles_msg h = { id, op, len, obj };

	memcpy(m->b, &h, sizeof(h));
}

static void make_open(struct msgbuf *m, const char *vkey, uint32_t vsize,
		      const char *ckey, uint32_t csize, uint32_t fd)
{
	struct cachefiles_open o = { vsize, csize, fd, 0 };
	size_t off = sizeof(struct cachefiles_msg);

	memcpy(m->b + off, &o, sizeof(o));
	off += sizeof(o);
	memcpy(m->b + off, vkey, vsize);
	off += vsize;
	memcpy(m->b + off, ckey, csize);
	off += csize;
	m->len = off;
	put_hdr(m, 7, CACHEFILES_OP_OPEN, off, 3);
}

static void make_read(struct msgbuf *m, uint64_t off, uint64_t len)
{
	struct cachefiles_read r = { off, len };

	memcpy(m->b + sizeof(struct cachefiles_msg), &r, sizeof(r));
	m->len = sizeof(struct cachefiles_msg) + sizeof(r);
	put_hdr(m, 9, CACHEFILES_OP_READ, m->len, 4);
}

TEST(open_is_parsed)
{
	struct cachefiles_open_names names;
	struct cachefiles_req req;
	struct msgbuf m;
	const char *why = NULL;

	make_open(&m, "erofs,dom1", 11, "blob-1", 6, 42);
	ASSERT_EQ(0, cachefiles_msg_parse(m.b, m.len, &req));
	EXPECT_EQ(7, req.msg_id);
	EXPECT_EQ(3, req.object_id);
	EXPECT_EQ(CACHEFILES_OP_OPEN, req.opcode);
	EXPECT_EQ(42, req.open.fd);
	ASSERT_EQ(0, cachefiles_open_names(&req, &names, &why));
	EXPECT_STREQ("dom1", names.domain);
	EXPECT_STREQ("blob-1", names.blob_id);
}

TEST(read_and_close_are_parsed)
{
	struct cachefiles_req req;
	struct msgbuf m;

	make_read(&m, 1 << 20, 262144);
	ASSERT_EQ(0, cachefiles_msg_parse(m.b, m.len, &req));
	EXPECT_EQ(CACHEFILES_OP_READ, req.opcode);
	EXPECT_EQ(1 << 20, req.read.off);
	EXPECT_EQ(262144, req.read.len);
	EXPECT_EQ(4, req.object_id);

	put_hdr(&m, 11, CACHEFILES_OP_CLOSE, 16, 5);
	ASSERT_EQ(0, cachefiles_msg_parse(m.b, 16, &req));
	EXPECT_EQ(CACHEFILES_OP_CLOSE, req.opcode);
	EXPECT_EQ(5, req.object_id);
}

TEST(truncated_messages_are_rejected)
{
	struct cachefiles_req req;
	struct msgbuf m;
	size_t n;

	make_open(&m, "erofs,d", 8, "b", 1, 5);
	for (n = 0; n < m.len; n++) {
		put_hdr(&m, 1, CACHEFILES_OP_OPEN, n, 1);
		EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, n, &req));
	}
	make_read(&m, 0, 4096);
	put_hdr(&m, 1, CACHEFILES_OP_READ, 24, 1);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, 24, &req));
}

TEST(header_length_must_match_what_was_read)
{
	struct cachefiles_req req;
	struct msgbuf m;

	make_read(&m, 0, 4096);
	put_hdr(&m, 1, CACHEFILES_OP_READ, m.len + 1, 1);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	put_hdr(&m, 1, CACHEFILES_OP_READ, m.len - 1, 1);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	put_hdr(&m, 1, CACHEFILES_OP_READ, 0xffffffff, 1);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
}

TEST(oversized_messages_are_rejected)
{
	static char key[1100];
	struct cachefiles_req req;
	struct msgbuf m;

	memset(key, 'a', sizeof(key));
	make_open(&m, "erofs,d", 8, key, sizeof(key), 5);
	EXPECT_GT(m.len, CACHEFILES_MSG_MAX_SIZE);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
}

TEST(lying_key_sizes_are_rejected_but_fd_is_kept)
{
	struct cachefiles_req req;
	struct msgbuf m;
	struct cachefiles_open *o;

	make_open(&m, "erofs,d", 8, "blob", 4, 17);
	o = (struct cachefiles_open *)(m.b + sizeof(struct cachefiles_msg));
	o->cookie_key_size = 5;
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	/* The kernel did install the fd: the caller must be able to close it. */
	EXPECT_EQ(17, req.open.fd);
	EXPECT_EQ(7, req.msg_id);

	/* Sizes that wrap around 32 bits. */
	o->volume_key_size = 0xffffffff;
	o->cookie_key_size = 13;
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	o->volume_key_size = 0x80000000;
	o->cookie_key_size = 0x80000000 + 12;
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
}

TEST(fd_out_of_int_range_is_not_used)
{
	struct cachefiles_req req;
	struct msgbuf m;

	make_open(&m, "erofs,d", 8, "blob", 4, 0xffffffff);
	ASSERT_EQ(0, cachefiles_msg_parse(m.b, m.len, &req));
	EXPECT_EQ(-1, req.open.fd);
}

TEST(read_ranges_are_checked)
{
	struct cachefiles_req req;
	struct msgbuf m;

	make_read(&m, 0, 0);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	make_read(&m, UINT64_MAX - 10, 4096);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, m.len, &req));
	make_read(&m, UINT64_MAX - 4096, 4096);
	EXPECT_EQ(0, cachefiles_msg_parse(m.b, m.len, &req));
}

TEST(close_with_payload_and_unknown_opcodes)
{
	struct cachefiles_req req;
	struct msgbuf m;

	memset(m.b, 0, sizeof(m.b));
	put_hdr(&m, 1, CACHEFILES_OP_CLOSE, 20, 1);
	EXPECT_EQ(-EBADMSG, cachefiles_msg_parse(m.b, 20, &req));
	put_hdr(&m, 1, 3, 16, 1);
	EXPECT_EQ(-EOPNOTSUPP, cachefiles_msg_parse(m.b, 16, &req));
	put_hdr(&m, 1, 0xffffffff, 16, 1);
	EXPECT_EQ(-EOPNOTSUPP, cachefiles_msg_parse(m.b, 16, &req));
	EXPECT_STREQ("UNKNOWN", cachefiles_opcode_name(77));
}

static int open_names(const char *vkey, uint32_t vsize, const char *ckey,
		      uint32_t csize, const char **why)
{
	struct cachefiles_open_names names;
	struct cachefiles_req req;
	struct msgbuf m;

	make_open(&m, vkey, vsize, ckey, csize, 3);
	if (cachefiles_msg_parse(m.b, m.len, &req))
		return -EBADMSG;
	return cachefiles_open_names(&req, &names, why);
}

TEST(volume_keys_are_validated)
{
	const char *why = NULL;

	EXPECT_EQ(-EINVAL, open_names("erofs,dom", 9, "b", 1, &why));
	EXPECT_STREQ("volume key is not NUL-terminated", why);
	EXPECT_EQ(-EINVAL, open_names("erofs,d\0m", 10, "b", 1, &why));
	EXPECT_STREQ("volume key has an embedded NUL", why);
	EXPECT_EQ(-EINVAL, open_names("ext4,dom", 9, "b", 1, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,", 7, "b", 1, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,../x", 11, "b", 1, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,a/b", 10, "b", 1, &why));
	EXPECT_EQ(-EINVAL, open_names("", 0, "b", 1, &why));
	EXPECT_EQ(0, open_names("erofs,sha256-abc_DEF.1", 23, "b", 1, &why));
}

TEST(cookie_keys_are_validated)
{
	char longkey[300];
	const char *why = NULL;

	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "", 0, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "..", 2, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "../etc/passwd", 13, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "a/b", 3, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "a\0b", 3, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "a\nb", 3, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, "a\xffz", 3, &why));
	memset(longkey, 'k', sizeof(longkey));
	EXPECT_EQ(0, open_names("erofs,d", 8, longkey, 255, &why));
	EXPECT_EQ(-EINVAL, open_names("erofs,d", 8, longkey, 256, &why));
}

TEST_HARNESS_MAIN
