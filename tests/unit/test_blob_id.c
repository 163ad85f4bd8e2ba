// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "lib/blob_id.h"
#include "harness.h"

static int valid(const char *s)
{
	return blob_id_valid(s, strlen(s));
}

TEST(digests_and_plain_names_are_valid)
{
	EXPECT_TRUE(valid("d2a4e3b8f0c1d2a4e3b8f0c1d2a4e3b8f0c1d2a4e3b8f0c1d2a4e3b8f0c1abcd"));
	EXPECT_TRUE(valid("sha256:abcdef"));
	EXPECT_TRUE(valid("image-1.erofs"));
	EXPECT_TRUE(valid("a"));
	EXPECT_TRUE(valid("a.b.c"));
}

TEST(path_tricks_are_invalid)
{
	EXPECT_FALSE(valid(""));
	EXPECT_FALSE(valid("."));
	EXPECT_FALSE(valid(".."));
	EXPECT_FALSE(valid("../x"));
	EXPECT_FALSE(valid("x/.."));
	EXPECT_FALSE(valid("a..b"));
	EXPECT_FALSE(valid("/etc"));
	EXPECT_FALSE(valid("a/b"));
	EXPECT_FALSE(valid("a\\b"));
	EXPECT_FALSE(valid(".hidden"));
}

TEST(unprintable_and_shell_characters_are_invalid)
{
	EXPECT_FALSE(valid("a b"));
	EXPECT_FALSE(valid("a\tb"));
	EXPECT_FALSE(valid("a\x7f"));
	EXPECT_FALSE(valid("\xc3\xa9t\xc3\xa9"));
	EXPECT_FALSE(valid("a'b"));
	EXPECT_FALSE(valid("$(x)"));
	EXPECT_FALSE(valid("a*"));
	EXPECT_FALSE(blob_id_valid("a\0b", 3));
	EXPECT_FALSE(blob_id_valid(NULL, 0));
}

TEST(length_limit_is_255)
{
	char s[300];

	memset(s, 'x', sizeof(s));
	EXPECT_TRUE(blob_id_valid(s, 255));
	EXPECT_FALSE(blob_id_valid(s, 256));
}

TEST(a_sha256_id_gives_its_digest)
{
	const char *hex = "9740ed911f564951d5fdc8b3ccfab3732e4d4df1fa9266c051bdc42ed98b2943";
	unsigned char md[32];
	char id[80];

	ASSERT_TRUE(blob_id_sha256(hex, md));
	EXPECT_EQ(0x97, md[0]);
	EXPECT_EQ(0x43, md[31]);
	snprintf(id, sizeof(id), "sha256:%s", hex);
	EXPECT_TRUE(blob_id_sha256(id, md));
	EXPECT_FALSE(blob_id_sha256("plain", md));
	/* 63 digits, 65 digits, upper case: not a digest. */
	snprintf(id, sizeof(id), "%.63s", hex);
	EXPECT_FALSE(blob_id_sha256(id, md));
	snprintf(id, sizeof(id), "%sa", hex);
	EXPECT_FALSE(blob_id_sha256(id, md));
	snprintf(id, sizeof(id), "9740ED%s", hex + 6);
	EXPECT_FALSE(blob_id_sha256(id, md));
}

TEST_HARNESS_MAIN
