// SPDX-License-Identifier: GPL-2.0
/* The factory and the dummy manager over a real localfs directory. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_int.h"
#include "config/config.h"
#include "cache/factory.h"
#include "harness.h"

static void write_blob(const char *dir, const char *name, size_t size)
{
	char path[PATH_MAX];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	for (i = 0; i < size; i++)
		fputc((int)((i * 7 + i / 251) & 0xff), f);
	fclose(f);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}

FIXTURE(blobs) {
	char dir[64];
	struct factory f;
	struct fscached_config *cfg;
};

FIXTURE_SETUP(blobs)
{
	char err[CONFIG_ERR_MAX];

	strcpy(self->dir, "/tmp/fscached-blobs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	write_blob(self->dir, "b1", 100000);
	write_blob(self->dir, "b2", 4096);
	write_blob(self->dir, "empty", 0);
	ASSERT_EQ(0, factory_init(&self->f));
	ASSERT_EQ(0, config_new_localfs("c1", self->dir, "dummy", &self->cfg,
					err, sizeof(err)));
}

FIXTURE_TEARDOWN(blobs)
{
	factory_destroy(&self->f);
	config_free(self->cfg);
	rm_rf(self->dir);
}

static struct blob_cache *get(struct __test_metadata *_metadata,
			      struct factory *f,
			      const struct fscached_config *cfg, const char *id,
			      int expect)
{
	struct blob_info info = { .id = id, .domain = "d", .cache_fd = -1 };
	struct blob_cache *bc = NULL;

	EXPECT_EQ(expect, factory_new_blob_cache(f, cfg, &info, &bc));
	return bc;
}

TEST_F(blobs, dummy_reads_come_from_the_backend)
{
	struct blob_cache *bc = get(_metadata, &self->f, self->cfg, "b1", 0);
	unsigned char buf[5000];
	size_t i;

	ASSERT_NE(NULL, bc);
	EXPECT_EQ(100000, bc->size);
	ASSERT_EQ(5000, blob_cache_read(bc, buf, sizeof(buf), 1234));
	for (i = 0; i < sizeof(buf); i++)
		ASSERT_EQ((((i + 1234) * 7 + (i + 1234) / 251) & 0xff), buf[i]);
	/* Past the end: what is there, then nothing. */
	EXPECT_EQ(100, blob_cache_read(bc, buf, sizeof(buf), 99900));
	EXPECT_EQ(0, blob_cache_read(bc, buf, sizeof(buf), 100000));
	/* The dummy has no cache file to fill. */
	EXPECT_EQ(-EOPNOTSUPP, blob_cache_fill(bc, 0, 4096, NULL, 0));
	blob_cache_put(bc);
}

TEST_F(blobs, missing_and_unsafe_blobs_are_refused)
{
	char path[PATH_MAX];

	EXPECT_NULL(get(_metadata, &self->f, self->cfg, "nope", -ENOENT));
	EXPECT_NULL(get(_metadata, &self->f, self->cfg, "../etc/passwd", -EINVAL));
	EXPECT_NULL(get(_metadata, &self->f, self->cfg, ".", -EINVAL));
	/* Not a regular file: a FIFO would block a worker forever. */
	snprintf(path, sizeof(path), "%s/fifo", self->dir);
	ASSERT_EQ(0, mkfifo(path, 0600));
	EXPECT_NULL(get(_metadata, &self->f, self->cfg, "fifo", -EINVAL));
	snprintf(path, sizeof(path), "%s/subdir", self->dir);
	ASSERT_EQ(0, mkdir(path, 0700));
	EXPECT_NULL(get(_metadata, &self->f, self->cfg, "subdir", -EINVAL));
}

TEST_F(blobs, a_blob_that_shrinks_is_an_error_not_short_data)
{
	struct blob_cache *bc = get(_metadata, &self->f, self->cfg, "b1", 0);
	char path[PATH_MAX], buf[8192];

	ASSERT_NE(NULL, bc);
	snprintf(path, sizeof(path), "%s/b1", self->dir);
	ASSERT_EQ(0, truncate(path, 50000));
	EXPECT_EQ(-EIO, blob_cache_read(bc, buf, sizeof(buf), 45000));
	EXPECT_EQ(-EIO, blob_cache_read(bc, buf, sizeof(buf), 60000));
	EXPECT_EQ(4096, blob_cache_read(bc, buf, 4096, 0));
	EXPECT_EQ(2, bc->stats.errors);
	blob_cache_put(bc);
}

TEST_F(blobs, equal_configs_share_one_manager)
{
	char err[CONFIG_ERR_MAX];
	struct fscached_config *same, *other_id, *other_pf;
	struct blob_cache *a, *b, *c, *d, *e;

	ASSERT_EQ(0, config_new_localfs("c1", self->dir, "dummy", &same, err, sizeof(err)));
	ASSERT_EQ(0, config_new_localfs("c2", self->dir, "dummy", &other_id, err, sizeof(err)));
	other_pf = config_dup(self->cfg);
	ASSERT_NE(NULL, other_pf);
	other_pf->prefetch.enable = true;

	a = get(_metadata, &self->f, self->cfg, "b1", 0);
	b = get(_metadata, &self->f, same, "b2", 0);
	EXPECT_EQ(1, factory_nr_mgrs(&self->f));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(a->mgr, b->mgr);
	/* The dummy manager hands out the same cache for the same blob. */
	c = get(_metadata, &self->f, same, "b1", 0);
	EXPECT_EQ(a, c);
	EXPECT_EQ(2, a->refs);
	d = get(_metadata, &self->f, other_id, "b1", 0);
	EXPECT_EQ(2, factory_nr_mgrs(&self->f));
	e = get(_metadata, &self->f, other_pf, "b1", 0);
	EXPECT_EQ(3, factory_nr_mgrs(&self->f));
	ASSERT_NE(NULL, d);
	ASSERT_NE(NULL, e);
	EXPECT_NE(a->mgr, d->mgr);
	EXPECT_NE(d->mgr, e->mgr);
	blob_cache_put(a);
	blob_cache_put(b);
	blob_cache_put(c);
	blob_cache_put(d);
	blob_cache_put(e);
	config_free(same);
	config_free(other_id);
	config_free(other_pf);
}

TEST_F(blobs, gc_drops_unused_caches_and_managers_and_keeps_totals)
{
	struct blob_cache *a, *b;
	struct json_object *stats, *total, *v;
	char buf[100];

	a = get(_metadata, &self->f, self->cfg, "b1", 0);
	b = get(_metadata, &self->f, self->cfg, "b2", 0);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(100, blob_cache_read(a, buf, sizeof(buf), 0));
	EXPECT_EQ(100, blob_cache_read(b, buf, sizeof(buf), 0));
	EXPECT_EQ(100, blob_cache_read(b, buf, sizeof(buf), 100));

	/* In use: nothing to collect. */
	EXPECT_EQ(0, factory_gc(&self->f));
	blob_cache_put(a);
	/* b is still in use, so the manager stays; a's cache goes. */
	EXPECT_EQ(0, factory_gc(&self->f));
	EXPECT_EQ(1, b->mgr->nr_blobs);
	blob_cache_put(b);
	EXPECT_EQ(1, factory_gc(&self->f));
	EXPECT_EQ(0, factory_nr_mgrs(&self->f));

	/* Counters of dropped managers still add up. */
	factory_check(&self->f);
	stats = factory_stats_json(&self->f);
	ASSERT_NE(NULL, stats);
	ASSERT_TRUE(json_object_object_get_ex(stats, "total", &total));
	ASSERT_TRUE(json_object_object_get_ex(total, "backend_reads", &v));
	EXPECT_EQ(3, json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(total, "read_bytes", &v));
	EXPECT_EQ(300, json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(total, "blobs_opened", &v));
	EXPECT_EQ(2, json_object_get_int64(v));
	json_object_put(stats);
}

TEST_F(blobs, checker_refreshes_stats_in_the_background)
{
	struct blob_cache *a = get(_metadata, &self->f, self->cfg, "b1", 0);
	char buf[10];
	int i;

	ASSERT_NE(NULL, a);
	EXPECT_EQ(10, blob_cache_read(a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, a->mgr->snapshot.backend_reads);
	ASSERT_EQ(0, factory_start_checker(&self->f, 20));
	for (i = 0; i < 500 && !__atomic_load_n(&a->mgr->snapshot.backend_reads,
						__ATOMIC_RELAXED); i++)
		usleep(10000);
	factory_stop_checker(&self->f);
	EXPECT_EQ(1, a->mgr->snapshot.backend_reads);
	EXPECT_EQ(10, a->mgr->snapshot.backend_read_bytes);
	EXPECT_GT(self->f.checks, 0);
	blob_cache_put(a);
}

TEST_F(blobs, empty_blob_opens_with_size_zero)
{
	struct blob_cache *bc = get(_metadata, &self->f, self->cfg, "empty", 0);
	char buf[16];

	ASSERT_NE(NULL, bc);
	EXPECT_EQ(0, bc->size);
	EXPECT_EQ(0, blob_cache_read(bc, buf, sizeof(buf), 0));
	blob_cache_put(bc);
}

TEST(unknown_cache_type_and_bad_dir_fail_cleanly)
{
	char err[CONFIG_ERR_MAX];
	struct fscached_config *cfg;
	struct blob_info info = { .id = "x", .domain = "d", .cache_fd = -1 };
	struct blob_cache *bc;
	struct factory f;

	ASSERT_EQ(0, factory_init(&f));
	ASSERT_EQ(0, config_new_localfs("c", "/nonexistent-dir-of-blobs", "dummy",
					&cfg, err, sizeof(err)));
	EXPECT_EQ(-ENOENT, factory_new_blob_cache(&f, cfg, &info, &bc));
	EXPECT_EQ(0, factory_nr_mgrs(&f));
	free(cfg->cache_type);
	cfg->cache_type = strdup("nonsense");
	EXPECT_EQ(-EOPNOTSUPP, factory_new_blob_cache(&f, cfg, &info, &bc));
	config_free(cfg);
	factory_destroy(&f);
}

TEST_HARNESS_MAIN
