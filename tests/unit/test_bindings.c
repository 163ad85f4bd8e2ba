// SPDX-License-Identifier: GPL-2.0
/* Which bound image's configuration serves a blob the kernel opens. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/bindings.h"
#include "config/config.h"
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

/* A one-blob RAFS image whose chunk table knows chunk @known only. */
static struct bootstrap_info rafs_image(const char *blob, uint64_t ci_offset,
					unsigned int known)
{
	struct bootstrap_info bi = { .nr_blobs = 1 };

	bi.tags = calloc(1, sizeof(*bi.tags));
	bi.rafs = calloc(1, sizeof(*bi.rafs));
	bi.digests = calloc(1, sizeof(*bi.digests));
	bi.nr_digests = calloc(1, sizeof(*bi.nr_digests));
	strcpy(bi.tags[0], blob);
	strcpy(bi.rafs[0].id, blob);
	bi.rafs[0].chunk_count = 4;
	bi.rafs[0].uncompressed_size = 16384;
	bi.rafs[0].ci_offset = ci_offset;
	bi.digests[0] = calloc(1, sizeof(**bi.digests));
	bi.digests[0][0].index = known;
	memset(bi.digests[0][0].md, 0x10 + known, 32);
	bi.nr_digests[0] = 1;
	return bi;
}

TEST(a_shared_blob_has_one_layout_and_every_image_digests)
{
	struct bootstrap_info a = rafs_image("blob", 100, 0);
	struct bootstrap_info b2 = rafs_image("blob", 100, 2);
	struct bootstrap_info bad = rafs_image("blob", 200, 1);
	struct blob_source src;
	struct bindings b;

	bindings_init(&b);
	ASSERT_EQ(0, bindings_add_image(&b, "d", "img-a", NULL, cfg_named("A"), &a));
	ASSERT_EQ(0, bindings_add_image(&b, "d", "img-b", NULL, cfg_named("B"), &b2));
	/* Another ci_offset for the same blob file in the domain: refused. */
	EXPECT_EQ(-EXDEV, bindings_add_image(&b, "d", "img-c", NULL, cfg_named("C"), &bad));
	ASSERT_EQ(0, bindings_resolve_source(&b, "d", "blob", &src));
	ASSERT_TRUE(src.is_rafs);
	ASSERT_NE(NULL, src.digests);
	/* Chunk 0 from img-a's table, chunk 2 from img-b's. */
	ASSERT_EQ(2, src.nr_digests);
	EXPECT_EQ(0, src.digests[0].index);
	EXPECT_EQ(0x10, src.digests[0].md[0]);
	EXPECT_EQ(2, src.digests[1].index);
	EXPECT_EQ(0x12, src.digests[1].md[0]);
	EXPECT_NULL(chunk_digest_find(src.digests, src.nr_digests, 1));
	blob_source_release(&src);
	/* The bootstrap cookie itself is byte for byte. */
	ASSERT_EQ(0, bindings_resolve_source(&b, "d", "img-a", &src));
	EXPECT_FALSE(src.is_rafs);
	blob_source_release(&src);
	bindings_destroy(&b);
}

TEST_HARNESS_MAIN
