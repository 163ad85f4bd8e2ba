// SPDX-License-Identifier: GPL-2.0
/* Configuration parsing: good files load, bad ones name the field and the problem. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config.h"
#include "harness.h"

static int parse(const char *text, char *err, struct fscached_config **cfg)
{
	struct fscached_config *c = NULL;
	int ret;

	err[0] = '\0';
	ret = config_parse_string(text, &c, err, CONFIG_ERR_MAX);
	if (cfg)
		*cfg = c;
	else
		config_free(c);
	return ret;
}

/* Parse @text, expect -EINVAL and an error message containing @needle. */
#define EXPECT_CONFIG_ERROR(text, needle) do {				\
	char _err[CONFIG_ERR_MAX];					\
	EXPECT_EQ(-EINVAL, parse(text, _err, NULL));			\
	if (!strstr(_err, needle))					\
		TH_LOG("error '%s' lacks '%s'", _err, needle);		\
	EXPECT_NE(NULL, strstr(_err, needle));				\
} while (0)

TEST(full_config_v2_is_loaded)
{
	char err[CONFIG_ERR_MAX];
	struct fscached_config *cfg;

	ASSERT_EQ(0, parse("{\"version\": 2, \"id\": \"img1\","
			   " \"backend\": {\"type\": \"localfs\","
			   "  \"localfs\": {\"dir\": \"/var/lib/blobs\","
			   "   \"alt_dirs\": [\"/srv/b\"]}},"
			   " \"cache\": {\"type\": \"fscache\","
			   "  \"fscache\": {\"work_dir\": \"/var/cache/fscached\"},"
			   "  \"prefetch\": {\"enable\": true, \"threads\": 8,"
			   "   \"batch_size\": 1048576, \"bandwidth_limit\": 0}}}",
			   err, &cfg));
	EXPECT_STREQ("img1", cfg->id);
	EXPECT_STREQ("localfs", cfg->backend_type);
	EXPECT_STREQ("fscache", cfg->cache_type);
	EXPECT_STREQ("/var/cache/fscached", cfg->work_dir);
	EXPECT_TRUE(cfg->prefetch.enable);
	EXPECT_EQ(8, cfg->prefetch.threads);
	EXPECT_EQ(1048576, cfg->prefetch.batch_size);
	config_free(cfg);
}

TEST(minimal_config_gets_defaults)
{
	char err[CONFIG_ERR_MAX];
	struct fscached_config *cfg;

	ASSERT_EQ(0, parse("{\"backend\": {\"type\": \"localfs\", \"localfs\":"
			   " {\"dir\": \"/b\"}}}\n\n", err, &cfg));
	EXPECT_STREQ("", cfg->id);
	EXPECT_STREQ("fscache", cfg->cache_type);
	EXPECT_NULL(cfg->work_dir);
	EXPECT_FALSE(cfg->prefetch.enable);
	config_free(cfg);
}

TEST(bad_json_says_where)
{
	EXPECT_CONFIG_ERROR("{\n\"id\": \"x\",\n\"backend\": }", "invalid JSON at line 3");
	EXPECT_CONFIG_ERROR("{\"id\": \"x\"", "invalid JSON at line 1");
	EXPECT_CONFIG_ERROR("", "invalid JSON");
	EXPECT_CONFIG_ERROR("{} {}", "unexpected data after the document");
	EXPECT_CONFIG_ERROR("[1, 2]", "must be a JSON object");
}

TEST(fields_are_checked_by_name)
{
	EXPECT_CONFIG_ERROR("{}", "backend: missing");
	EXPECT_CONFIG_ERROR("{\"version\": 1, \"backend\": {}}", "version: 1 is not supported");
	EXPECT_CONFIG_ERROR("{\"colour\": 1}", "colour: unknown field");
	EXPECT_CONFIG_ERROR("{\"id\": 5, \"backend\": {}}", "id: must be a string, not an integer");
	EXPECT_CONFIG_ERROR("{\"backend\": []}", "backend: must be an object, not an array");
	EXPECT_CONFIG_ERROR("{\"backend\": {}}", "backend.type: missing");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"ftp\"}}", "backend.type: 'ftp' is not a known backend");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\"}}", "backend.localfs: missing");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\", \"localfs\": {}}}",
			    "backend.localfs.dir: missing");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"rel\"}}}",
			    "backend.localfs.dir: 'rel' must be an absolute path");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/b\", \"dri\": 1}}}",
			    "backend.localfs.dri: unknown field");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/b\"}, \"s3\": {}}}",
			    "backend.s3: unknown field");
	EXPECT_CONFIG_ERROR("{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/b\", \"alt_dirs\": \"/c\"}}}",
			    "backend.localfs.alt_dirs: must be an array");
}

#define BACKEND "\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/b\"}}"

TEST(cache_section_is_checked)
{
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"type\": \"blobcache\"}}",
			    "cache.type: 'blobcache' is not supported");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"fscache\": {\"work_dir\": \"x\"}}}",
			    "cache.fscache.work_dir: 'x' must be an absolute path");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"prefetch\": {\"enable\": \"yes\"}}}",
			    "cache.prefetch.enable: must be true or false, not a string");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"prefetch\": {\"threads\": -1}}}",
			    "cache.prefetch.threads: -1 is out of range");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"prefetch\": {\"threads\": 1.5}}}",
			    "cache.prefetch.threads: must be an integer, not a number");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"prefetch\": {\"fast\": true}}}",
			    "cache.prefetch.fast: unknown field");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"validate\": 1}}",
			    "cache.validate: must be true or false, not an integer");
	EXPECT_CONFIG_ERROR("{" BACKEND ", \"cache\": {\"type\": \"dummy\", \"validate\": true}}",
			    "cache.validate: the dummy cache keeps no copy");
}

TEST(validate_is_read_kept_and_part_of_the_manager_key)
{
	struct fscached_config *a = NULL, *b = NULL, *c;
	char err[CONFIG_ERR_MAX];
	struct json_object *o;

	ASSERT_EQ(0, config_parse_string("{" BACKEND ", \"cache\": {\"validate\": true}}",
					 &a, err, sizeof(err)));
	EXPECT_TRUE(a->validate);
	c = config_dup(a);
	ASSERT_NE(NULL, c);
	EXPECT_TRUE(c->validate);
	o = config_to_json(a);
	ASSERT_EQ(0, config_from_json(o, &b, err, sizeof(err)));
	json_object_put(o);
	EXPECT_TRUE(b->validate);
	EXPECT_TRUE(config_same_manager(a, b));
	c->validate = false;
	EXPECT_FALSE(config_same_manager(a, c));
	config_free(a);
	config_free(b);
	config_free(c);
}

TEST(files_are_read_and_errors_name_the_file)
{
	char path[] = "/tmp/fscached-config-XXXXXX", err[CONFIG_ERR_MAX];
	struct fscached_config *cfg = NULL;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	f = fdopen(fd, "w");
	fputs("{" BACKEND ", \"cache\": {\"type\": 3}}", f);
	fclose(f);
	EXPECT_EQ(-EINVAL, config_parse_file(path, &cfg, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, path));
	EXPECT_NE(NULL, strstr(err, "cache.type: must be a string"));
	unlink(path);
	EXPECT_EQ(-ENOENT, config_parse_file(path, &cfg, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "No such file"));
	EXPECT_EQ(-EINVAL, config_parse_file("/", &cfg, err, sizeof(err)));
}

TEST(manager_key_is_id_types_and_prefetch)
{
	char err[CONFIG_ERR_MAX];
	struct fscached_config *a, *b, *c;

	ASSERT_EQ(0, config_new_localfs("x", "/d1", "fscache", &a, err, sizeof(err)));
	ASSERT_EQ(0, config_new_localfs("x", "/d2", "fscache", &b, err, sizeof(err)));
	/* nydus keys managers by id, types and prefetch, not backend details. */
	EXPECT_TRUE(config_same_manager(a, b));
	c = config_dup(a);
	ASSERT_NE(NULL, c);
	EXPECT_TRUE(config_same_manager(a, c));
	c->prefetch.enable = true;
	EXPECT_FALSE(config_same_manager(a, c));
	config_free(c);
	ASSERT_EQ(0, config_new_localfs("y", "/d1", "fscache", &c, err, sizeof(err)));
	EXPECT_FALSE(config_same_manager(a, c));
	config_free(c);
	ASSERT_EQ(0, config_new_localfs("x", "/d1", "dummy", &c, err, sizeof(err)));
	EXPECT_FALSE(config_same_manager(a, c));
	config_free(c);
	config_free(a);
	config_free(b);
}

TEST_HARNESS_MAIN
