// SPDX-License-Identifier: GPL-2.0
/*
 * The s3 backend against moto (which checks SigV4 for real) and the oss
 * backend against tests/servers/oss (which checks OSS V1 signatures, and
 * is itself checked against Aliyun's own ali-oss client).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"
#include "srv.h"

#define BLOB_SIZE	(2 * 1048576 + 4321)
#define BLOB_ID		"5f0c2e6a0b1d4c3e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e"

FIXTURE(store) {
	char dir[PATH_MAX];
	char blob[PATH_MAX + 16];
	struct srv srv;
	struct backend *be;
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(0, test_tmpdir(self->dir, sizeof(self->dir)));
	snprintf(self->blob, sizeof(self->blob), "%s/blob", self->dir);
	ASSERT_EQ(0, test_make_blob(self->blob, BLOB_SIZE, 11));
}

FIXTURE_TEARDOWN(store)
{
	char cmd[PATH_MAX + 16];

	backend_destroy(self->be);
	srv_stop(&self->srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		return;
}

static int start(struct __test_metadata *_metadata, FIXTURE_DATA(store) *self,
		 const char *kind)
{
	char args[PATH_MAX + 128];
	int ret = srv_start(&self->srv, kind, "");

	if (ret == 77)
		return 77;
	ASSERT_EQ(0, ret);
	snprintf(args, sizeof(args), "blobs/%s %s", BLOB_ID, self->blob);
	ASSERT_EQ(0, srv_run(&self->srv, "put", args, NULL, 0));
	return 0;
}

static const char *host_of(const char *url)
{
	const char *p = strstr(url, "://");

	return p ? p + 3 : url;
}

static int s3(FIXTURE_DATA(store) *self, const char *key, const char *secret,
	      const char *extra, struct backend **be)
{
	char json[2048], err[512] = "";
	int ret;

	snprintf(json, sizeof(json),
		 "{\"scheme\": \"http\", \"endpoint\": \"%s\", \"region\": \"%s\","
		 " \"bucket_name\": \"%s\", \"object_prefix\": \"blobs/\","
		 " \"retry_limit\": 1, \"retry_delay_ms\": 10%s%s%s%s%s%s%s}",
		 host_of(srv_env(&self->srv, "S3_ENDPOINT")),
		 srv_env(&self->srv, "S3_REGION"),
		 srv_env(&self->srv, "S3_BUCKET"),
		 key ? ", \"access_key_id\": \"" : "", key ? key : "",
		 key ? "\", \"access_key_secret\": \"" : "",
		 key ? secret : "", key ? "\"" : "",
		 extra ? ", " : "", extra ? extra : "");
	ret = test_backend("s3", json, be, err, sizeof(err));
	if (ret)
		fprintf(stderr, "config: %s\n", err);
	return ret;
}

#define START(kind) do {						\
	if (start(_metadata, self, kind) == 77)				\
		SKIP(return, "%s server dependencies are missing", kind); \
} while (0)

TEST_F_TIMEOUT(store, s3_path_style_with_sigv4, 120)
{
	START("moto");
	ASSERT_EQ(0, s3(self, srv_env(&self->srv, "S3_ACCESS_KEY_ID"),
			srv_env(&self->srv, "S3_SECRET_ACCESS_KEY"),
			"\"path_style\": true", &self->be));
	EXPECT_EQ(0, test_backend_compare_all(self->be, BLOB_ID, self->blob, 1 << 20));
	EXPECT_EQ(0, test_backend_compare(self->be, BLOB_ID, self->blob, 999, 10000));
	EXPECT_EQ(-ENOENT, test_backend_compare(self->be, "feed", self->blob, 0, 1));
}

TEST_F_TIMEOUT(store, s3_virtual_host_style, 120)
{
	char extra[512];

	START("moto");
	/* <bucket>.s3.test resolves to the server on 127.0.0.1. */
	snprintf(extra, sizeof(extra),
		 "\"resolve\": [\"%s.s3.test:%s:127.0.0.1\"]",
		 srv_env(&self->srv, "S3_BUCKET"),
		 strrchr(srv_env(&self->srv, "S3_ENDPOINT"), ':') + 1);
	{
		char json[2048], err[512] = "";

		snprintf(json, sizeof(json),
			 "{\"scheme\": \"http\", \"endpoint\": \"s3.test:%s\", \"region\": \"%s\","
			 " \"bucket_name\": \"%s\", \"object_prefix\": \"blobs/\","
			 " \"access_key_id\": \"%s\", \"access_key_secret\": \"%s\", %s}",
			 strrchr(srv_env(&self->srv, "S3_ENDPOINT"), ':') + 1,
			 srv_env(&self->srv, "S3_REGION"),
			 srv_env(&self->srv, "S3_BUCKET"),
			 srv_env(&self->srv, "S3_ACCESS_KEY_ID"),
			 srv_env(&self->srv, "S3_SECRET_ACCESS_KEY"), extra);
		ASSERT_EQ(0, test_backend("s3", json, &self->be, err, sizeof(err)));
	}
	EXPECT_EQ(0, test_backend_compare(self->be, BLOB_ID, self->blob, 1048576, 1048576));
}

TEST_F_TIMEOUT(store, s3_wrong_keys_are_refused, 120)
{
	struct backend *be;

	START("moto");
	ASSERT_EQ(0, s3(self, srv_env(&self->srv, "S3_ACCESS_KEY_ID"),
			"not-the-secret", "\"path_style\": true", &be));
	EXPECT_EQ(-EACCES, test_backend_compare(be, BLOB_ID, self->blob, 0, 10));
	backend_destroy(be);
	ASSERT_EQ(0, s3(self, "AKIANOSUCHKEY0000000", "x", "\"path_style\": true", &be));
	EXPECT_EQ(-EACCES, test_backend_compare(be, BLOB_ID, self->blob, 0, 10));
	backend_destroy(be);
	/* Anonymous. */
	ASSERT_EQ(0, s3(self, NULL, NULL, "\"path_style\": true", &be));
	EXPECT_EQ(-EACCES, test_backend_compare(be, BLOB_ID, self->blob, 0, 10));
	backend_destroy(be);
}

static int oss(FIXTURE_DATA(store) *self, const char *secret,
	       struct backend **be)
{
	const char *ep = srv_env(&self->srv, "OSS_ENDPOINT");
	char json[2048], err[512] = "";
	int ret;

	snprintf(json, sizeof(json),
		 "{\"scheme\": \"http\", \"endpoint\": \"%s\", \"bucket_name\": \"%s\","
		 " \"object_prefix\": \"blobs/\", \"access_key_id\": \"%s\","
		 " \"access_key_secret\": \"%s\", \"retry_limit\": 1,"
		 " \"resolve\": [\"%s.%s:127.0.0.1\"]}",
		 ep, srv_env(&self->srv, "OSS_BUCKET"),
		 srv_env(&self->srv, "OSS_ACCESS_KEY_ID"), secret,
		 srv_env(&self->srv, "OSS_BUCKET"), ep);
	ret = test_backend("oss", json, be, err, sizeof(err));
	if (ret)
		fprintf(stderr, "config: %s\n", err);
	return ret;
}

TEST_F_TIMEOUT(store, oss_v1_signed_reads, 120)
{
	START("oss");
	ASSERT_EQ(0, oss(self, srv_env(&self->srv, "OSS_ACCESS_KEY_SECRET"), &self->be));
	EXPECT_EQ(0, test_backend_compare_all(self->be, BLOB_ID, self->blob, 1 << 20));
	EXPECT_EQ(0, test_backend_compare(self->be, BLOB_ID, self->blob, 5, 70000));
	EXPECT_EQ(-ENOENT, test_backend_compare(self->be, "feed", self->blob, 0, 1));
}

TEST_F_TIMEOUT(store, oss_wrong_secret_is_refused, 120)
{
	START("oss");
	ASSERT_EQ(0, oss(self, "not-the-secret", &self->be));
	EXPECT_EQ(-EACCES, test_backend_compare(self->be, BLOB_ID, self->blob, 0, 10));
}

TEST(objstore_config_errors)
{
	static const struct { const char *type, *json, *needle; } cases[] = {
		{ "s3", "{\"bucket_name\": \"b\"}", "backend.endpoint: missing" },
		{ "s3", "{\"endpoint\": \"e\"}", "backend.bucket_name: missing" },
		{ "s3", "{\"endpoint\": \"http://e\", \"bucket_name\": \"b\"}", "without a scheme" },
		{ "s3", "{\"endpoint\": \"e\", \"bucket_name\": \"b\", \"access_key_id\": \"k\"}", "go together" },
		{ "oss", "{\"endpoint\": \"e\", \"bucket_name\": \"b\", \"region\": \"r\"}", "backend.region: unknown field" },
		{ "oss", "{\"endpoint\": \"e\"}", "backend.bucket_name: missing" },
	};
	struct backend *be;
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, test_backend(cases[i].type, cases[i].json, &be, err, sizeof(err)));
		if (!strstr(err, cases[i].needle))
			TH_LOG("'%s' -> '%s'", cases[i].json, err);
		EXPECT_NE(NULL, strstr(err, cases[i].needle));
	}
}

TEST_HARNESS_MAIN
