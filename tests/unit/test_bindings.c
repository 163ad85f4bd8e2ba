// SPDX-License-Identifier: GPL-2.0
/* Which bound image's configuration serves a blob the kernel opens. */
#include <errno.h>
#include <string.h>

#include "bindings.h"
#include "config.h"
#include "harness.h"

static struct fscached_config *cfg_named(const char *id)
{
	struct fscached_config *cfg = NULL;
	char err[CONFIG_ERR_MAX];

	config_new_localfs(id, "/srv", "fscache", &cfg, err, sizeof(err));
	return cfg;
}

static const char *served_by(struct bindings *b, const char *domain,
			     const char *blob, char *out)
{
	struct fscached_config *cfg = bindings_resolve(b, domain, blob);

	strcpy(out, cfg ? cfg->id : "none");
	config_free(cfg);
	return out;
}

TEST(data_blobs_follow_the_image_that_names_them)
{
	char tags_a[2][EROFS_DEVICE_TAG_MAX + 1] = { "shared", "only-a" };
	char tags_b[1][EROFS_DEVICE_TAG_MAX + 1] = { "only-b" };
	struct bindings b;
	char id[64];

	bindings_init(&b);
	ASSERT_EQ(0, bindings_add(&b, "d", "img-a", NULL, cfg_named("A"), tags_a, 2));
	ASSERT_EQ(0, bindings_add(&b, "d", "img-b", NULL, cfg_named("B"), tags_b, 1));
	EXPECT_EQ(-EEXIST, bindings_add(&b, "d", "img-a", NULL, cfg_named("A2"), NULL, 0));
	EXPECT_STREQ("A", served_by(&b, "d", "img-a", id));
	EXPECT_STREQ("A", served_by(&b, "d", "only-a", id));
	EXPECT_STREQ("A", served_by(&b, "d", "shared", id));
	EXPECT_STREQ("B", served_by(&b, "d", "only-b", id));
	EXPECT_STREQ("B", served_by(&b, "d", "img-b", id));
	/* Unknown blobs of a domain with several images: nobody guesses. */
	EXPECT_STREQ("none", served_by(&b, "d", "stranger", id));
	EXPECT_STREQ("none", served_by(&b, "e", "img-a", id));
	EXPECT_EQ(0, bindings_remove(&b, "d", "img-a"));
	EXPECT_EQ(-ENOENT, bindings_remove(&b, "d", "img-a"));
	EXPECT_STREQ("none", served_by(&b, "d", "only-a", id));
	EXPECT_EQ(1, b.count);
	bindings_destroy(&b);
}

TEST_HARNESS_MAIN
