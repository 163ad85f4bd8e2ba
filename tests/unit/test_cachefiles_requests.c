// SPDX-License-Identifier: GPL-2.0
/*
 * What the front end does with kernel messages that cannot be served, and
 * with a handed-over descriptor that is not the cache device: the rows of
 * Documentation/bad-input.md that no kernel can be made to produce. The
 * request handlers run on a front end with no device: its "device" is a
 * pipe, so that what would be written to /dev/cachefiles can be read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/cachefiles/device.h"
#include "frontend/cachefiles/frontend_int.h"
#include "harness.h"

FIXTURE(requests) {
	struct cachefiles_frontend *fe;
	int dev[2];
};

FIXTURE_SETUP(requests)
{
	self->fe = calloc(1, sizeof(*self->fe));
	ASSERT_NE(NULL, self->fe);
	ASSERT_EQ(0, pipe2(self->dev, O_NONBLOCK | O_CLOEXEC));
	self->fe->dev_fd = self->dev[1];
	object_table_init(&self->fe->objects);
	pthread_mutex_init(&self->fe->jobs_lock, NULL);
	pthread_cond_init(&self->fe->job_freed, NULL);
}

FIXTURE_TEARDOWN(requests)
{
	cf_jobs_free(self->fe);
	object_table_destroy(&self->fe->objects);
	pthread_cond_destroy(&self->fe->job_freed);
	pthread_mutex_destroy(&self->fe->jobs_lock);
	free(self->fe);
	close(self->dev[0]);
	close(self->dev[1]);
}

static size_t put_msg(struct cachefiles_frontend *fe, uint32_t msg_id,
		      uint32_t opcode, uint32_t object_id,
		      const void *payload, size_t len)
{
	struct cachefiles_msg m = {
		.msg_id = msg_id, .opcode = opcode,
		.len = sizeof(m) + len, .object_id = object_id,
	};

	memcpy(fe->msg, &m, sizeof(m));
	if (len)
		memcpy(fe->msg + sizeof(m), payload, len);
	return sizeof(m) + len;
}

/* A READ for an object never opened: counted, and nothing is written. */
TEST_F(requests, a_read_for_an_object_never_opened_is_counted)
{
	struct cachefiles_read rd = { .off = 0, .len = 4096 };
	char buf[64];

	cf_handle_message(self->fe, put_msg(self->fe, 7, CACHEFILES_OP_READ,
					    42, &rd, sizeof(rd)));
	EXPECT_EQ(1, self->fe->stats.read_requests);
	EXPECT_EQ(1, self->fe->stats.read_errors);
	EXPECT_EQ(-1, read(self->dev[0], buf, sizeof(buf)));
}

TEST_F(requests, a_close_for_an_object_never_opened_is_ignored)
{
	cf_handle_message(self->fe, put_msg(self->fe, 8, CACHEFILES_OP_CLOSE,
					    42, NULL, 0));
	EXPECT_EQ(0, self->fe->stats.closes);
	EXPECT_EQ(0, self->fe->stats.bad_messages);
}

/* A malformed OPEN still gets its copen, an error, and its fd is kept. */
TEST_F(requests, a_malformed_open_is_answered_with_an_error)
{
	struct cachefiles_open op = { .volume_key_size = 100,
				      .cookie_key_size = 100, .fd = 0 };
	char buf[64] = "";
	ssize_t n;

	cf_handle_message(self->fe, put_msg(self->fe, 9, CACHEFILES_OP_OPEN,
					    1, &op, sizeof(op)));
	EXPECT_EQ(1, self->fe->stats.bad_messages);
	n = read(self->dev[0], buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	EXPECT_STREQ("copen 9,-22", buf);
	/* fd 0 is not the kernel's object fd: never closed. */
	EXPECT_NE(-1, fcntl(0, F_GETFD));
}

TEST(a_handed_over_descriptor_that_is_not_the_cache_device_is_refused)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int file = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	int p[2];

	ASSERT_GE(null, 0);
	ASSERT_GE(file, 0);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-ENOTTY, cachefiles_dev_check_held(null));
	EXPECT_EQ(-ENOTTY, cachefiles_dev_check_held(file));
	EXPECT_EQ(-ENOTTY, cachefiles_dev_check_held(p[0]));
	EXPECT_EQ(-EBADF, cachefiles_dev_check_held(1000));
	close(null);
	close(file);
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
