// SPDX-License-Identifier: GPL-2.0
/*
 * The http backend and the HTTP engine under it, against real servers on
 * 127.0.0.1: nginx (HTTP and HTTPS), squid as a proxy, and a server that
 * misbehaves on purpose (tests/servers/faulty).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "backend/backend.h"
#include "cache/cache.h"
#include "config/config.h"
#include "cache/factory.h"
#include <limits.h>
#include "harness.h"
#include "srv.h"

#define BIG_SIZE	(5 * 1048576 + 123)

FIXTURE(web) {
	char root[PATH_MAX];
	char big[PATH_MAX + 16];
	struct srv nginx;
	struct backend *be;
};

FIXTURE_SETUP(web)
{
	char path[PATH_MAX + 16];
	int ret;

	ASSERT_EQ(0, test_tmpdir(self->root, sizeof(self->root)));
	snprintf(self->big, sizeof(self->big), "%s/big", self->root);
	ASSERT_EQ(0, test_make_blob(self->big, BIG_SIZE, 1));
	snprintf(path, sizeof(path), "%s/small", self->root);
	ASSERT_EQ(0, test_make_blob(path, 1000, 2));
	snprintf(path, sizeof(path), "--root %s", self->root);
	ret = srv_start(&self->nginx, "nginx", path);
	if (ret == 77)
		SKIP(return, "nginx is not installed");
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(web)
{
	char cmd[PATH_MAX + 16];

	backend_destroy(self->be);
	srv_stop(&self->nginx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->root);
	if (system(cmd))
		return;
}

/* The first number a shell command prints. */
static int count_lines(const char *cmd)
{
	char out[64] = "";
	FILE *p = popen(cmd, "r");

	if (!p)
		return -1;
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	return atoi(out);
}

static struct backend *make(struct __test_metadata *_metadata,
			    const char *json)
{
	struct backend *be = NULL;
	char err[512] = "";
	int ret = test_backend("http", json, &be, err, sizeof(err));

	if (ret)
		TH_LOG("%s: %s", json, err);
	EXPECT_EQ(0, ret);
	return be;
}

TEST_F(web, sizes_and_ranges_are_exact)
{
	char json[1024];
	struct backend_blob *blob;

	snprintf(json, sizeof(json), "{\"url\": \"%s/\"}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	ASSERT_EQ(0, backend_blob_open(self->be, "big", &blob));
	EXPECT_EQ(BIG_SIZE, blob->size);
	backend_blob_close(blob);
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 0, 4096));
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 1048576, 1048576));
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, BIG_SIZE - 100, 100));
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 7, 3));
	EXPECT_EQ(0, test_backend_compare_all(self->be, "big", self->big, 1 << 20));
	EXPECT_EQ(-ENOENT, test_backend_compare(self->be, "missing", self->big, 0, 1));
	EXPECT_GT(self->be->stats.reads, 5);
}

/* A streamed range, checked byte by byte against the file it came from. */
struct stream_check {
	int fd;
	uint64_t off, got;
	int mismatch;
};

static int stream_check_consume(void *ctx, const void *data, size_t n)
{
	struct stream_check *sc = ctx;
	char *want = malloc(n);

	if (!want || pread(sc->fd, want, n, sc->off + sc->got) != (ssize_t)n ||
	    memcmp(want, data, n))
		sc->mismatch = 1;
	free(want);
	sc->got += n;
	return 0;
}

/* Stream [off, off + len) of @id; returns the backend's answer. */
static int stream_range(struct backend *be, const char *id, const char *path,
			uint64_t off, uint64_t len, struct stream_check *sc)
{
	struct backend_blob *blob;
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->off = off;
	sc->fd = open(path, O_RDONLY);
	if (sc->fd < 0)
		return -errno;
	ret = backend_blob_open(be, id, &blob);
	if (!ret) {
		ret = backend_blob_stream(blob, off, len, stream_check_consume, sc);
		backend_blob_close(blob);
	}
	close(sc->fd);
	return ret;
}

TEST_F(web, ranges_stream_in_one_request)
{
	struct stream_check sc;
	uint64_t reads;
	char json[1024];

	snprintf(json, sizeof(json), "{\"url\": \"%s/\"}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	reads = self->be->stats.reads;
	ASSERT_EQ(0, stream_range(self->be, "big", self->big, 4096,
				  3 * 1048576, &sc));
	EXPECT_EQ(3 * 1048576, sc.got);
	EXPECT_EQ(0, sc.mismatch);
	EXPECT_EQ(reads + 1, self->be->stats.reads);
	/* Clamped to the blob, like a read. */
	ASSERT_EQ(0, stream_range(self->be, "big", self->big, BIG_SIZE - 100,
				  1 << 20, &sc));
	EXPECT_EQ(100, sc.got);
	EXPECT_EQ(0, sc.mismatch);
}

TEST_F(web, connections_are_reused)
{
	char json[1024];
	int i;

	snprintf(json, sizeof(json), "{\"url\": \"%s\"}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, test_backend_compare(self->be, "big", self->big,
						  i * 4096, 4096));
	/* 20 HEADs and 20 GETs, one after the other: one connection. */
	TH_LOG("connections opened for 40 requests: %llu",
	       (unsigned long long)self->be->stats.connections);
	EXPECT_EQ(1, self->be->stats.connections);
}

TEST(https_verifies_the_server)
{
	char root[PATH_MAX], json[2048], blob[PATH_MAX + 8], args[PATH_MAX + 16];
	struct backend *be = NULL;
	struct srv s;
	char err[512];
	int ret;

	ASSERT_EQ(0, test_tmpdir(root, sizeof(root)));
	snprintf(blob, sizeof(blob), "%s/b", root);
	ASSERT_EQ(0, test_make_blob(blob, 300000, 3));
	snprintf(args, sizeof(args), "--root %s --tls", root);
	ret = srv_start(&s, "nginx", args);
	if (ret == 77)
		SKIP(return, "nginx is not installed");
	ASSERT_EQ(0, ret);

	/* Our CA: trusted. */
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"ca_file\": \"%s\"}",
		 srv_env(&s, "HTTP_URL"), srv_env(&s, "HTTP_CA"));
	ASSERT_EQ(0, test_backend("http", json, &be, err, sizeof(err)));
	EXPECT_EQ(0, test_backend_compare_all(be, "b", blob, 65536));
	backend_destroy(be);

	/* The system's CAs do not know it: refused, no data. */
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"retry_limit\": 0}",
		 srv_env(&s, "HTTP_URL"));
	ASSERT_EQ(0, test_backend("http", json, &be, err, sizeof(err)));
	EXPECT_EQ(-EIO, test_backend_compare(be, "b", blob, 0, 10));
	backend_destroy(be);

	/* Unless told to skip verification. */
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"skip_verify\": true}",
		 srv_env(&s, "HTTP_URL"));
	ASSERT_EQ(0, test_backend("http", json, &be, err, sizeof(err)));
	EXPECT_EQ(0, test_backend_compare(be, "b", blob, 1000, 5000));
	backend_destroy(be);
	srv_stop(&s);
}

TEST_F(web, through_a_proxy_and_around_a_dead_one)
{
	char json[2048], out[PATH_MAX + 64];
	struct srv squid;
	int ret;

	ret = srv_start(&squid, "squid", "");
	if (ret == 77)
		SKIP(return, "squid is not installed");
	ASSERT_EQ(0, ret);
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"proxy\": {\"url\": \"%s\"}}",
		 srv_env(&self->nginx, "HTTP_URL"), srv_env(&squid, "PROXY_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 4096, 65536));
	/* The proxy really carried it: HEAD and GET are in its log. */
	snprintf(out, sizeof(out), "grep -c %s %s/access.log", "/big",
		 squid.dir);
	EXPECT_EQ(2, count_lines(out));
	backend_destroy(self->be);
	self->be = NULL;
	srv_stop(&squid);

	/* Proxy down, fallback on (the default): direct. */
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"proxy\": {\"url\": \"http://127.0.0.1:1\"}}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 0, 8192));
	backend_destroy(self->be);

	/* Fallback off: the request fails. */
	snprintf(json, sizeof(json), "{\"url\": \"%s\", \"retry_limit\": 1, \"retry_delay_ms\": 10,"
		 " \"proxy\": {\"url\": \"http://127.0.0.1:1\", \"fallback\": false}}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	EXPECT_EQ(-EIO, test_backend_compare(self->be, "big", self->big, 0, 8192));
}

/* PUT /api/v1/config's proxy_url: a running backend takes it. */
static int set_proxy(struct backend *be, const char *url)
{
	struct json_object *patch = json_object_new_object(), *proxy;
	int ret;

	proxy = json_object_new_object();
	json_object_object_add(proxy, "url", json_object_new_string(url));
	json_object_object_add(patch, "proxy", proxy);
	ret = backend_update(be, patch);
	json_object_put(patch);
	return ret;
}

TEST_F(web, a_proxy_set_and_removed_while_running)
{
	char json[2048], count[PATH_MAX + 64];
	struct srv squid;
	int ret;

	ret = srv_start(&squid, "squid", "");
	if (ret == 77)
		SKIP(return, "squid is not installed");
	ASSERT_EQ(0, ret);
	snprintf(json, sizeof(json), "{\"url\": \"%s\"}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	snprintf(count, sizeof(count), "grep -c %s %s/access.log", "/big",
		 squid.dir);
	/* Direct at first: the proxy sees nothing. */
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 0, 4096));
	EXPECT_EQ(0, count_lines(count));
	/* Set: the next requests go through it (the blob is open: one GET). */
	ASSERT_EQ(0, set_proxy(self->be, srv_env(&squid, "PROXY_URL")));
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 8192, 4096));
	EXPECT_LT(0, count_lines(count));
	ret = count_lines(count);
	/* Removed: direct again. */
	ASSERT_EQ(0, set_proxy(self->be, ""));
	EXPECT_EQ(0, test_backend_compare(self->be, "big", self->big, 65536, 4096));
	EXPECT_EQ(ret, count_lines(count));
	srv_stop(&squid);
}

TEST_F(web, a_server_that_dies_is_an_error_not_a_hang)
{
	char json[1024];
	struct backend_blob *blob;
	char buf[4096];

	snprintf(json, sizeof(json),
		 "{\"url\": \"%s\", \"retry_limit\": 2, \"retry_delay_ms\": 10}",
		 srv_env(&self->nginx, "HTTP_URL"));
	self->be = make(_metadata, json);
	ASSERT_NE(NULL, self->be);
	ASSERT_EQ(0, backend_blob_open(self->be, "big", &blob));
	EXPECT_EQ(4096, backend_blob_read(blob, buf, sizeof(buf), 0));
	srv_stop(&self->nginx);
	EXPECT_EQ(-EIO, backend_blob_read(blob, buf, sizeof(buf), 4096));
	backend_blob_close(blob);
}

/* ---- a server that misbehaves ---- */

FIXTURE(faulty) {
	char root[PATH_MAX];
	char blob[PATH_MAX + 16];
	struct srv srv;
};

FIXTURE_SETUP(faulty)
{
	char args[PATH_MAX + 16];
	int ret;

	ASSERT_EQ(0, test_tmpdir(self->root, sizeof(self->root)));
	snprintf(self->blob, sizeof(self->blob), "%s/blob", self->root);
	ASSERT_EQ(0, test_make_blob(self->blob, 3 * 1048576, 4));
	snprintf(args, sizeof(args), "--root %s", self->root);
	ret = srv_start(&self->srv, "faulty", args);
	if (ret == 77)
		SKIP(return, "python3 is not installed");
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(faulty)
{
	char cmd[PATH_MAX + 16];

	srv_stop(&self->srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->root);
	if (system(cmd))
		return;
}

/* Read 1 MiB at 1 MiB of "blob" with the server in @mode. */
static int read_mode(struct srv *srv,
		     const char *blob, const char *mode, const char *extra,
		     unsigned int *requests)
{
	char json[1024], err[512], stats[4096], key[64], *p;
	struct backend *be;
	int ret;

	snprintf(json, sizeof(json),
		 "{\"url\": \"%s/%s\", \"retry_delay_ms\": 20%s%s}",
		 srv_env(srv, "FAULTY_URL"), mode, extra ? ", " : "",
		 extra ? extra : "");
	ret = test_backend("http", json, &be, err, sizeof(err));
	if (ret)
		return ret;
	ret = test_backend_compare(be, "blob", blob, 1048576, 1048576);
	backend_destroy(be);
	if (requests) {
		FILE *f;
		size_t n = 0;

		*requests = 0;
		/* Per <mode>/<name> request counts of this server. */
		snprintf(json, sizeof(json), "curl -sf %s/_stats",
			 srv_env(srv, "FAULTY_URL"));
		f = popen(json, "r");
		if (f) {
			n = fread(stats, 1, sizeof(stats) - 1, f);
			pclose(f);
		}
		stats[n] = '\0';
		snprintf(key, sizeof(key), "\"%s/blob\": ", mode);
		p = strstr(stats, key);
		if (p)
			*requests = atoi(p + strlen(key));
	}
	return ret;
}

#define READ_MODE(mode, extra, reqs) \
	read_mode(&self->srv, self->blob, mode, extra, reqs)

TEST_F(faulty, transient_errors_are_retried)
{
	unsigned int n;

	EXPECT_EQ(0, READ_MODE("503x2", NULL, &n));
	EXPECT_EQ(2 + 2, n);		/* HEAD + GET, two 503s between */
	EXPECT_EQ(0, READ_MODE("resetx1", NULL, NULL));
	EXPECT_EQ(0, READ_MODE("ok", NULL, &n));
	EXPECT_EQ(2, n);
}

TEST_F_TIMEOUT(faulty, retry_after_is_honoured, 60)
{
	struct timespec a, b;
	unsigned int n;

	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(0, READ_MODE("429x1", NULL, &n));
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT_EQ(3, n);
	/* Retry-After: 1, not our 20 ms backoff. */
	EXPECT_GE((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 900);
}

TEST_F_TIMEOUT(faulty, a_stalled_server_times_out_and_the_retry_succeeds, 60)
{
	unsigned int n;

	EXPECT_EQ(0, READ_MODE("stall5", "\"timeout\": 1", &n));
	EXPECT_EQ(3, n);
}

TEST_F(faulty, bodies_that_do_not_match_are_never_data)
{
	EXPECT_EQ(-EIO, READ_MODE("truncate", "\"retry_limit\": 1", NULL));
	EXPECT_EQ(-EIO, READ_MODE("short", "\"retry_limit\": 1", NULL));
	EXPECT_EQ(-EIO, READ_MODE("overlong", "\"retry_limit\": 1", NULL));
	EXPECT_EQ(-EIO, READ_MODE("badrange", "\"retry_limit\": 1", NULL));
	EXPECT_EQ(-EIO, READ_MODE("reset", "\"retry_limit\": 2", NULL));
}

/*
 * A stream cut in the middle goes on where it stopped: every retry asks for
 * the rest only, so what was consumed is never given twice. The server cuts
 * every body in half: after 4 requests, 15/16 of the range have arrived,
 * in order, and the call fails.
 */
TEST_F(faulty, a_cut_stream_resumes_where_it_stopped)
{
	struct stream_check sc;
	struct backend *be;
	char json[1024], err[512];

	snprintf(json, sizeof(json),
		 "{\"url\": \"%s/truncate\", \"retry_delay_ms\": 20, \"retry_limit\": 3}",
		 srv_env(&self->srv, "FAULTY_URL"));
	ASSERT_EQ(0, test_backend("http", json, &be, err, sizeof(err)));
	EXPECT_EQ(-EIO, stream_range(be, "blob", self->blob, 1048576, 1048576,
				     &sc));
	EXPECT_EQ(1048576 - 65536, sc.got);
	EXPECT_EQ(0, sc.mismatch);
	backend_destroy(be);
}

/*
 * A fill whose stream is cut keeps the whole blocks that arrived and
 * nothing else: never a zero-padded block in the middle of the blob.
 */
TEST_F(faulty, a_cut_fill_keeps_only_whole_blocks)
{
	struct blob_info info = { .id = "blob", .domain = "d" };
	char json[1024], err[CONFIG_ERR_MAX], path[PATH_MAX + 16];
	struct fscached_config *cfg;
	struct blob_cache *bc;
	struct io_buf buf;
	struct factory f;
	off_t hole;
	int fd;

	snprintf(json, sizeof(json),
		 "{\"version\": 2, \"id\": \"cut\", \"cache\": {\"type\": \"fscache\"}, "
		 "\"backend\": {\"type\": \"http\", \"http\": {\"url\": \"%s/truncate\", "
		 "\"retry_limit\": 0}}}", srv_env(&self->srv, "FAULTY_URL"));
	ASSERT_EQ(0, config_parse_string(json, &cfg, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/cache", self->root);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_GE(fd, 0);
	info.cache_fd = fd;
	ASSERT_EQ(0, factory_init(&f));
	ASSERT_EQ(0, factory_new_blob_cache(&f, cfg, &info, &bc));
	ASSERT_EQ(0, io_buf_init(&buf, 1048576));
	/* 1 MiB + 3 blocks, cut after 129.5 blocks. */
	EXPECT_EQ(-EIO, blob_cache_fill(bc, 0, 1048576 + 3 * 4096, &buf, 0));
	hole = lseek(fd, 0, SEEK_HOLE);
	EXPECT_EQ(129 * 4096, hole);
	io_buf_release(&buf);
	blob_cache_put(bc);
	factory_destroy(&f);
	config_free(cfg);
	close(fd);
}

TEST_F(faulty, a_server_that_ignores_range_still_gives_the_right_bytes)
{
	EXPECT_EQ(0, READ_MODE("full200", NULL, NULL));
}

TEST_F(faulty, client_errors_are_not_retried)
{
	unsigned int n;

	EXPECT_EQ(-ENOENT, READ_MODE("404", NULL, &n));
	EXPECT_EQ(1, n);
	/* HEAD, then the one-byte GET that storage signed for GET wants. */
	EXPECT_EQ(-EACCES, READ_MODE("403", NULL, &n));
	EXPECT_EQ(2, n);
	EXPECT_EQ(-EACCES, READ_MODE("401", NULL, &n));
	EXPECT_EQ(1, n);
}

TEST_F(faulty, persistent_5xx_gives_up_after_the_retry_limit)
{
	unsigned int n;

	EXPECT_EQ(-EIO, READ_MODE("503x100", "\"retry_limit\": 3", &n));
	EXPECT_EQ(4, n);
}

TEST(config_errors_name_the_field)
{
	static const struct { const char *json, *needle; } cases[] = {
		{ "{}", "backend.url: missing" },
		{ "{\"url\": \"ftp://x\"}", "must start with http:// or https://" },
		{ "{\"url\": \"http://x\", \"timeout\": \"5\"}", "backend.timeout: must be an integer" },
		{ "{\"url\": \"http://x\", \"timeout\": 0}", "at least 1 second" },
		{ "{\"url\": \"http://x\", \"proxy\": {\"urll\": 1}}", "backend.proxy.urll: unknown field" },
		{ "{\"url\": \"http://x\", \"resolve\": [\"a:1\"]}", "backend.resolve[0]" },
		{ "{\"url\": \"http://x\", \"hedaers\": {}}", "backend.hedaers: unknown field" },
	};
	struct backend *be;
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, test_backend("http", cases[i].json, &be, err, sizeof(err)));
		if (!strstr(err, cases[i].needle))
			TH_LOG("'%s' -> '%s', wanted '%s'", cases[i].json, err, cases[i].needle);
		EXPECT_NE(NULL, strstr(err, cases[i].needle));
	}
}

TEST_HARNESS_MAIN
