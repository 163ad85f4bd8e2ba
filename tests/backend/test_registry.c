// SPDX-License-Identifier: GPL-2.0
/*
 * The registry backend against Debian's docker-registry (distribution 2.8)
 * on 127.0.0.1: anonymous, Basic, Bearer tokens from a token server (with
 * expiry and refresh), redirects to blob storage, TLS and mirrors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "backend/backend.h"
#include "lib/log.h"
#include "harness.h"
#include "srv.h"

#define BLOB_SIZE	(3 * 1048576 + 777)

FIXTURE(registry) {
	char dir[PATH_MAX];
	char blob[PATH_MAX + 16];
	char digest[80];	/* hex, without "sha256:" */
	struct srv reg;
	struct backend *be;
};

static int start_registry(struct __test_metadata *_metadata,
			  FIXTURE_DATA(registry) *self, const char *args)
{
	char out[PATH_MAX + 64];
	int ret;

	ret = srv_start(&self->reg, "registry", args);
	if (ret == 77)
		return 77;
	ASSERT_EQ(0, ret);
	snprintf(out, sizeof(out), "test/image %s", self->blob);
	ASSERT_EQ(0, srv_run(&self->reg, "push", out, out, sizeof(out)));
	ASSERT_EQ(0, strncmp(out, "sha256:", 7));
	snprintf(self->digest, sizeof(self->digest), "%s", out + 7);
	return 0;
}

FIXTURE_SETUP(registry)
{
	char hex[65];

	ASSERT_EQ(0, test_tmpdir(self->dir, sizeof(self->dir)));
	snprintf(self->blob, sizeof(self->blob), "%s/blob", self->dir);
	ASSERT_EQ(0, test_make_blob(self->blob, BLOB_SIZE, 7));
	ASSERT_EQ(0, test_sha256_file(self->blob, hex));
	(void)hex;
}

FIXTURE_TEARDOWN(registry)
{
	char cmd[PATH_MAX + 16];

	backend_destroy(self->be);
	srv_stop(&self->reg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		return;
}

/* The backend config for this registry plus @extra fields. */
static int make(FIXTURE_DATA(registry) *self, const char *extra,
		struct backend **be, char *err, size_t errlen)
{
	char json[10240];

	snprintf(json, sizeof(json),
		 "{\"scheme\": \"%s\", \"host\": \"%s\", \"repo\": \"test/image\","
		 " \"retry_delay_ms\": 20%s%s}",
		 srv_env(&self->reg, "REGISTRY_SCHEME"),
		 srv_env(&self->reg, "REGISTRY_HOST"), extra ? ", " : "",
		 extra ? extra : "");
	return test_backend("registry", json, be, err, errlen);
}

#define START(args) do {						\
	if (start_registry(_metadata, self, args) == 77)		\
		SKIP(return, "docker-registry is not installed");	\
} while (0)

#define MAKE(extra) do {						\
	char _err[512] = "";						\
	int _r = make(self, extra, &self->be, _err, sizeof(_err));	\
	if (_r)								\
		TH_LOG("config: %s", _err);				\
	ASSERT_EQ(0, _r);						\
} while (0)

static int tokens_issued(FIXTURE_DATA(registry) *self)
{
	FILE *f = fopen(srv_env(&self->reg, "TOKENS_ISSUED_FILE"), "r");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

TEST_F(registry, anonymous_pull_by_digest)
{
	struct backend_blob *blob;

	START("--auth none");
	MAKE(NULL);
	ASSERT_EQ(0, backend_blob_open(self->be, self->digest, &blob));
	EXPECT_EQ(BLOB_SIZE, blob->size);
	backend_blob_close(blob);
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 12345, 100));
	EXPECT_EQ(-ENOENT, test_backend_compare(self->be,
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  self->blob, 0, 1));
}

TEST_F(registry, basic_auth)
{
	char extra[512];
	struct backend *bad = NULL;
	char err[512];

	START("--auth basic --user alice --password s3cret");
	snprintf(extra, sizeof(extra), "\"auth\": \"%s\"",
		 srv_env(&self->reg, "REGISTRY_AUTH"));
	MAKE(extra);
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));

	/* "alice:wrong": refused with -EACCES, not retried forever. */
	ASSERT_EQ(0, make(self, "\"auth\": \"YWxpY2U6d3Jvbmc=\"", &bad, err, sizeof(err)));
	EXPECT_EQ(-EACCES, test_backend_compare(bad, self->digest, self->blob, 0, 10));
	backend_destroy(bad);
	ASSERT_EQ(0, make(self, NULL, &bad, err, sizeof(err)));
	EXPECT_EQ(-EACCES, test_backend_compare(bad, self->digest, self->blob, 0, 10));
	backend_destroy(bad);
}

TEST_F(registry, bearer_token_through_the_challenge)
{
	char extra[512];
	struct backend *bad = NULL;
	char err[512];
	int before;

	START("--auth token --user bob --password pw-of-bob");
	snprintf(extra, sizeof(extra), "\"auth\": \"%s\"",
		 srv_env(&self->reg, "REGISTRY_AUTH"));
	before = tokens_issued(self);
	MAKE(extra);
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));
	/* One token, cached for every request after the first. */
	EXPECT_EQ(before + 1, tokens_issued(self));

	ASSERT_EQ(0, make(self, "\"auth\": \"Ym9iOndyb25n\"", &bad, err, sizeof(err)));
	EXPECT_EQ(-EACCES, test_backend_compare(bad, self->digest, self->blob, 0, 10));
	backend_destroy(bad);
}

/* PUT /api/v1/config's registry_auth reaches a running backend. */
static int update_auth(struct backend *be, const char *auth)
{
	struct json_object *patch = json_object_new_object();
	int ret;

	json_object_object_add(patch, "auth", json_object_new_string(auth));
	ret = backend_update(be, patch);
	json_object_put(patch);
	return ret;
}

TEST_F(registry, credentials_change_while_running)
{
	START("--auth token --user bob --password pw-of-bob");
	/* Wrong credentials first: refused. */
	MAKE("\"auth\": \"Ym9iOndyb25n\"");
	EXPECT_EQ(-EACCES, test_backend_compare(self->be, self->digest, self->blob, 0, 10));
	/* The right ones, at run time: the same backend now reads. */
	ASSERT_EQ(0, update_auth(self->be, srv_env(&self->reg, "REGISTRY_AUTH")));
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));
	/* Rotated to wrong ones: the token they earned is dropped too. */
	ASSERT_EQ(0, update_auth(self->be, "Ym9iOndyb25n"));
	EXPECT_EQ(-EACCES, test_backend_compare(self->be, self->digest, self->blob, 0, 10));
	/* Removed (""): anonymous, which this registry refuses. */
	ASSERT_EQ(0, update_auth(self->be, ""));
	EXPECT_EQ(-EACCES, test_backend_compare(self->be, self->digest, self->blob, 0, 10));
}

TEST_F(registry, basic_credentials_change_while_running)
{
	START("--auth basic --user alice --password s3cret");
	MAKE(NULL);
	EXPECT_EQ(-EACCES, test_backend_compare(self->be, self->digest, self->blob, 0, 10));
	ASSERT_EQ(0, update_auth(self->be, srv_env(&self->reg, "REGISTRY_AUTH")));
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));
}

TEST_F_TIMEOUT(registry, expired_token_is_refreshed, 60)
{
	char extra[512];
	int first;

	START("--auth token --token-ttl 2 --token-strict-expiry");
	snprintf(extra, sizeof(extra), "\"auth\": \"%s\"",
		 srv_env(&self->reg, "REGISTRY_AUTH"));
	MAKE(extra);
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 0, 4096));
	first = tokens_issued(self);
	sleep(3);
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 4096, 4096));
	EXPECT_GT(tokens_issued(self), first);
}

TEST_F(registry, redirect_to_blob_storage_is_followed)
{
	START("--auth basic --redirect");
	{
		char extra[512];

		snprintf(extra, sizeof(extra), "\"auth\": \"%s\"",
			 srv_env(&self->reg, "REGISTRY_AUTH"));
		MAKE(extra);
	}
	ASSERT_NE(0, strlen(srv_env(&self->reg, "REDIRECT_URL")));
	EXPECT_EQ(0, test_backend_compare_all(self->be, self->digest, self->blob, 1 << 20));
	{
		/* The bytes came from the storage nginx, not the registry. */
		char cmd[PATH_MAX + 64];
		FILE *p;
		int n = 0;

		snprintf(cmd, sizeof(cmd), "grep -c ' 206 ' %s/redirect/access.log",
			 self->reg.dir);
		p = popen(cmd, "r");
		if (p && fscanf(p, "%d", &n) != 1)
			n = 0;
		if (p)
			pclose(p);
		EXPECT_EQ(4, n);	/* 3 MiB + 777 bytes in 1 MiB reads */
	}
}

/* A static registry_token, here one fetched by hand from the token server. */
TEST_F(registry, static_registry_token)
{
	char cmd[PATH_MAX * 2], extra[8192], tok[6144] = "";
	FILE *p;

	START("--auth token");
	snprintf(cmd, sizeof(cmd),
		 "curl -sf -u '%s:%s' '%s?service=%s&scope=repository:test/image:pull'"
		 " | sed 's/.*\"token\": *\"\\([^\"]*\\)\".*/\\1/'",
		 srv_env(&self->reg, "REGISTRY_USER"),
		 srv_env(&self->reg, "REGISTRY_PASSWORD"),
		 srv_env(&self->reg, "TOKEN_URL"),
		 srv_env(&self->reg, "TOKEN_SERVICE"));
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	if (!fgets(tok, sizeof(tok), p))
		tok[0] = '\0';
	pclose(p);
	tok[strcspn(tok, "\n")] = '\0';
	ASSERT_GT(strlen(tok), 20);
	snprintf(extra, sizeof(extra), "\"registry_token\": \"%s\"", tok);
	MAKE(extra);
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 0, 65536));
}

TEST_F(registry, tls_with_our_ca)
{
	char extra[512];

	START("--auth basic --tls");
	snprintf(extra, sizeof(extra), "\"auth\": \"%s\", \"ca_file\": \"%s\"",
		 srv_env(&self->reg, "REGISTRY_AUTH"),
		 srv_env(&self->reg, "REGISTRY_CA"));
	MAKE(extra);
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 1048576, 1048576));
}

TEST_F(registry, dead_mirror_falls_back_to_the_registry)
{
	START("--auth none");
	MAKE("\"mirrors\": [{\"host\": \"127.0.0.1:1\", \"headers\": {\"X-Test\": \"1\"}}]");
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 0, 65536));
}

/* Nothing we log, at any level, carries a credential. */
TEST_F(registry, secrets_never_reach_the_log)
{
	char extra[512], log[PATH_MAX + 16], cmd[PATH_MAX * 2];
	struct backend *bad = NULL;
	char err[512];
	int fd, saved;

	START("--auth token --user carol --password Hunter2-secret");
	snprintf(log, sizeof(log), "%s/log", self->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_set_level(LOG_TRACE);

	snprintf(extra, sizeof(extra), "\"auth\": \"%s\"",
		 srv_env(&self->reg, "REGISTRY_AUTH"));
	ASSERT_EQ(0, make(self, extra, &self->be, err, sizeof(err)));
	EXPECT_EQ(0, test_backend_compare(self->be, self->digest, self->blob, 0, 4096));
	/* carol:Hunter2-wrong */
	ASSERT_EQ(0, make(self, "\"auth\": \"Y2Fyb2w6SHVudGVyMi13cm9uZw==\"", &bad, err, sizeof(err)));
	EXPECT_EQ(-EACCES, test_backend_compare(bad, self->digest, self->blob, 0, 10));
	backend_destroy(bad);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	log_set_level(LOG_INFO);
	/* The failures were logged... */
	snprintf(cmd, sizeof(cmd), "grep -q 'refused our credentials' %s", log);
	EXPECT_EQ(0, system(cmd));
	/* ...without the password, the auth string or a token. */
	snprintf(cmd, sizeof(cmd),
		 "grep -qE 'Hunter2|%s|Y2Fyb2w6|Bearer [A-Za-z0-9]|eyJ' %s",
		 srv_env(&self->reg, "REGISTRY_AUTH"), log);
	EXPECT_NE(0, system(cmd));
}

/*
 * A remembered redirect that has expired (403) sends us back to the
 * registry, which redirects again; the read succeeds. The faulty server
 * plays both the registry and the blob storage.
 */
TEST(expired_redirect_goes_back_to_the_registry)
{
	char root[PATH_MAX], blob[PATH_MAX + 80], json[1024], err[512];
	char args[PATH_MAX + 16], stats[4096] = "", hex[65];
	struct backend *be = NULL;
	struct srv s;
	FILE *p;
	int ret;

	ASSERT_EQ(0, test_tmpdir(root, sizeof(root)));
	snprintf(blob, sizeof(blob), "%s/src", root);
	ASSERT_EQ(0, test_make_blob(blob, 1048576, 9));
	ASSERT_EQ(0, test_sha256_file(blob, hex));
	snprintf(blob, sizeof(blob), "%s/%s", root, hex);
	snprintf(args, sizeof(args), "mv %s/src %s", root, blob);
	ASSERT_EQ(0, system(args));
	snprintf(args, sizeof(args), "--root %s", root);
	ret = srv_start(&s, "faulty", args);
	if (ret == 77)
		SKIP(return, "python3 is not installed");
	ASSERT_EQ(0, ret);
	snprintf(json, sizeof(json),
		 "{\"scheme\": \"http\", \"host\": \"%s\", \"repo\": \"lib/403x1\","
		 " \"retry_delay_ms\": 10}", strstr(srv_env(&s, "FAULTY_URL"), "://") + 3);
	ASSERT_EQ(0, test_backend("registry", json, &be, err, sizeof(err)));
	/* HEAD: 307, then 403 at the target (expired): back to the registry. */
	EXPECT_EQ(0, test_backend_compare(be, hex, blob, 0, 65536));
	snprintf(args, sizeof(args), "curl -sf %s/_stats", srv_env(&s, "FAULTY_URL"));
	p = popen(args, "r");
	if (p) {
		stats[fread(stats, 1, sizeof(stats) - 1, p)] = '\0';
		pclose(p);
	}
	TH_LOG("requests: %s", stats);
	/*
	 * The registry was asked twice (the HEAD, and again after the 403);
	 * the GET went straight to the remembered target.
	 */
	snprintf(args, sizeof(args), "\"v2/%s\": 2", hex);
	EXPECT_NE(NULL, strstr(stats, args));
	snprintf(args, sizeof(args), "\"403x1/%s\": 3", hex);
	EXPECT_NE(NULL, strstr(stats, args));
	backend_destroy(be);
	srv_stop(&s);
	snprintf(args, sizeof(args), "rm -rf %s", root);
	ASSERT_EQ(0, system(args));
}

TEST(registry_config_errors)
{
	static const struct { const char *json, *needle; } cases[] = {
		{ "{\"repo\": \"r\"}", "backend.host: missing" },
		{ "{\"host\": \"h\"}", "backend.repo: missing" },
		{ "{\"host\": \"h\", \"repo\": \"r\", \"scheme\": \"ftp\"}", "must be http or https" },
		{ "{\"host\": \"h\", \"repo\": \"r\", \"mirrors\": [{}]}", "backend.mirrors[0].host: missing" },
		{ "{\"host\": \"h\", \"repo\": \"r\", \"blob_redirected_host\": \"x\"}", "not supported" },
	};
	struct backend *be;
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, test_backend("registry", cases[i].json, &be, err, sizeof(err)));
		if (!strstr(err, cases[i].needle))
			TH_LOG("'%s' -> '%s'", cases[i].json, err);
		EXPECT_NE(NULL, strstr(err, cases[i].needle));
	}
}

TEST_HARNESS_MAIN
