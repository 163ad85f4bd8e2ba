// SPDX-License-Identifier: GPL-2.0
/*
 * The control API over its unix socket, with a stand-in daemon: every
 * endpoint, the shapes of its answers, and what bad requests get.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "image/bindings.h"
#include "config/config.h"
#include "harness.h"
#include "lib/log.h"

struct fake_daemon {
	int exits;
	int lifecycle_ret;		/* what start/sendfd/takeover return */
	int lifecycle_calls;
	char update_id[64], update_auth[64], update_proxy[64];
	int updates;
};

static struct bindings fake_bindings;

static struct json_object *fake_info(void *ctx)
{
	(void)ctx;
	return json_tokener_parse("{\"id\": \"t\", \"version\": {\"package_ver\": \"1\"}, "
				  "\"supervisor\": null, \"state\": \"RUNNING\"}");
}

static struct json_object *fake_stats(void *ctx)
{
	(void)ctx;
	return json_tokener_parse(
		"{\"frontend\": {\"reads\": 5, \"read_requests\": 6},"
		" \"factory\": {\"managers\": [], \"total\": {\"blobs\": 2,"
		" \"blob_bytes\": 100, \"fills\": 7, \"readahead_fills\": 3,"
		" \"prefetch_fills\": 4, \"prefetch_bytes\": 50,"
		" \"prefetch_errors\": 1, \"backend_reads\": 9,"
		" \"backend_read_bytes\": 4096, \"backend_errors\": 0,"
		" \"fetch_us\": 3000}}}");
}

static void fake_exit(void *ctx)
{
	__atomic_add_fetch(&((struct fake_daemon *)ctx)->exits, 1, __ATOMIC_RELEASE);
}

static int fake_lifecycle(void *ctx, char *why, size_t len)
{
	struct fake_daemon *f = ctx;

	f->lifecycle_calls++;
	if (f->lifecycle_ret)
		snprintf(why, len, "because the test says so");
	return f->lifecycle_ret;
}

static int fake_update_config(void *ctx, const char *id,
			      const struct config_update *u)
{
	struct fake_daemon *f = ctx;

	if (id && !strcmp(id, "nope"))
		return -ENOENT;
	f->updates++;
	snprintf(f->update_id, sizeof(f->update_id), "%s", id ? id : "(all)");
	snprintf(f->update_auth, sizeof(f->update_auth), "%s",
		 u->registry_auth ? u->registry_auth : "(same)");
	snprintf(f->update_proxy, sizeof(f->update_proxy), "%s",
		 u->proxy_url ? u->proxy_url : "(same)");
	return 1;
}

struct reply {
	char body[8192];
	size_t len;
};

static size_t reply_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb, take = n;

	if (take > sizeof(r->body) - 1 - r->len)
		take = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return n;
}

/* One request; returns the HTTP status (or -1) with the body in @r. */
static long request(const char *sock, const char *method, const char *path,
		    const char *body, size_t body_len, struct reply *r)
{
	char url[256];
	long status = -1;
	CURL *h = curl_easy_init();

	memset(r, 0, sizeof(*r));
	if (!h)
		return -1;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

static const char *field(struct reply *r, const char *key, char *out,
			 size_t size)
{
	struct json_object *o = json_tokener_parse(r->body), *v;

	out[0] = '\0';
	if (o && json_object_object_get_ex(o, key, &v))
		snprintf(out, size, "%s", json_object_get_string(v));
	json_object_put(o);
	return out;
}

FIXTURE(api) {
	char dir[64];
	char sock[128];
	struct fake_daemon fake;
	struct api_daemon ops;
	struct api_server *server;
};

FIXTURE_SETUP(api)
{
	strcpy(self->dir, "/tmp/fscached-api-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", self->dir);
	bindings_init(&fake_bindings);
	self->ops = (struct api_daemon){ .ctx = &self->fake, .info = fake_info,
					 .stats = fake_stats, .exit = fake_exit,
					 .update_config = fake_update_config,
					 .bindings = &fake_bindings };
	ASSERT_EQ(0, api_start(self->sock, &self->ops, &self->server));
}

FIXTURE_TEARDOWN(api)
{
	api_server_stop(self->server);
	bindings_destroy(&fake_bindings);
	rmdir(self->dir);
}

TEST_F(api, daemon_info_and_socket_mode)
{
	struct reply r;
	struct stat st;
	char v[64];

	ASSERT_EQ(0, stat(self->sock, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	ASSERT_EQ(200, request(self->sock, "GET", "/api/v1/daemon", NULL, 0, &r));
	EXPECT_STREQ("RUNNING", field(&r, "state", v, sizeof(v)));
	EXPECT_STREQ("t", field(&r, "id", v, sizeof(v)));
	ASSERT_EQ(200, request(self->sock, "GET", "/api/v2/daemon", NULL, 0, &r));
	EXPECT_STREQ("RUNNING", field(&r, "state", v, sizeof(v)));
	EXPECT_STRNE("", field(&r, "log_level", v, sizeof(v)));
}

TEST_F(api, metrics_in_nydus_shapes_and_prometheus)
{
	struct reply r;
	char v[64];

	ASSERT_EQ(200, request(self->sock, "GET", "/api/v1/metrics/blobcache",
			       NULL, 0, &r));
	EXPECT_STREQ("2", field(&r, "entries_count", v, sizeof(v)));
	EXPECT_STREQ("7", field(&r, "total", v, sizeof(v)));
	EXPECT_STREQ("50", field(&r, "prefetch_data_amount", v, sizeof(v)));
	EXPECT_STREQ("4", field(&r, "prefetch_requests_count", v, sizeof(v)));
	ASSERT_EQ(200, request(self->sock, "GET", "/api/v1/metrics/backend",
			       NULL, 0, &r));
	EXPECT_STREQ("9", field(&r, "read_count", v, sizeof(v)));
	EXPECT_STREQ("4096", field(&r, "read_amount_total", v, sizeof(v)));
	EXPECT_STREQ("3", field(&r, "read_cumulative_latency_millis_total", v,
				sizeof(v)));
	ASSERT_EQ(200, request(self->sock, "GET", "/metrics", NULL, 0, &r));
	EXPECT_NE(NULL, strstr(r.body, "fscached_frontend_reads 5\n"));
	EXPECT_NE(NULL, strstr(r.body, "fscached_cache_prefetch_bytes 50\n"));
}

TEST_F(api, log_level_is_set_and_bad_bodies_change_nothing)
{
	enum log_level before = log_get_level();
	struct reply r;
	char v[64];
	static const char big[API_MAX_BODY + 100] = "{";

	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/daemon",
			       "{\"log_level\": \"debug\"}", 22, &r));
	EXPECT_EQ(LOG_DEBUG, log_get_level());
	log_set_level(before);
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/daemon",
			       "{\"log_level\": ", 14, &r));
	EXPECT_STREQ("InvalidRequest", field(&r, "code", v, sizeof(v)));
	EXPECT_NE(NULL, strstr(r.body, "not valid JSON"));
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/daemon",
			       "{\"log_level\": \"loud\"}", 21, &r));
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/daemon",
			       "{\"log_lvl\": \"debug\"}", 20, &r));
	EXPECT_NE(NULL, strstr(r.body, "unknown field 'log_lvl'"));
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/daemon",
			       "[1, 2]", 6, &r));
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/daemon", "", 0, &r));
	EXPECT_EQ(413, request(self->sock, "PUT", "/api/v2/daemon", big,
			       sizeof(big), &r));
	EXPECT_STREQ("PayloadTooLarge", field(&r, "code", v, sizeof(v)));
	EXPECT_EQ(before, log_get_level());
}

TEST_F(api, unknown_paths_and_methods)
{
	struct reply r;
	char v[64];

	EXPECT_EQ(404, request(self->sock, "GET", "/api/v1/nothing", NULL, 0, &r));
	EXPECT_STREQ("NotFound", field(&r, "code", v, sizeof(v)));
	EXPECT_EQ(405, request(self->sock, "DELETE", "/api/v1/daemon", NULL, 0, &r));
	EXPECT_STREQ("MethodNotAllowed", field(&r, "code", v, sizeof(v)));
	EXPECT_EQ(404, request(self->sock, "GET", "/../../etc/passwd", NULL, 0, &r));
}

TEST_F(api, exit_asks_the_daemon_to_stop)
{
	struct reply r;

	int waited;

	EXPECT_EQ(204, request(self->sock, "PUT", "/api/v1/daemon/exit", NULL, 0, &r));
	/* The stop comes once the 204 has gone out: wait for it. */
	for (waited = 0; waited < 5000 &&
	     !__atomic_load_n(&self->fake.exits, __ATOMIC_ACQUIRE); waited += 10)
		usleep(10000);
	EXPECT_EQ(1, __atomic_load_n(&self->fake.exits, __ATOMIC_ACQUIRE));
}

/*
 * nydusd's lifecycle calls, as the snapshotter makes them: each reaches
 * the daemon, and its refusals come back with the right status.
 */
TEST_F(api, start_sendfd_and_takeover_reach_the_daemon)
{
	static const char *const paths[] = {
		"/api/v1/daemon/start", "/api/v1/daemon/fuse/sendfd",
		"/api/v1/daemon/fuse/takeover",
	};
	struct reply r;
	char v[256];
	unsigned int i;

	/* Without the daemon's support: 501, not a crash. */
	EXPECT_EQ(501, request(self->sock, "PUT", paths[0], NULL, 0, &r));
	api_server_stop(self->server);
	self->ops.start = self->ops.sendfd = self->ops.takeover = fake_lifecycle;
	ASSERT_EQ(0, api_start(self->sock, &self->ops, &self->server));
	for (i = 0; i < 3; i++) {
		self->fake.lifecycle_ret = 0;
		EXPECT_EQ(204, request(self->sock, "PUT", paths[i], NULL, 0, &r));
		self->fake.lifecycle_ret = -EBUSY;
		EXPECT_EQ(409, request(self->sock, "PUT", paths[i], NULL, 0, &r));
		EXPECT_NE(NULL, strstr(field(&r, "message", v, sizeof(v)),
				       "because the test says so"));
		self->fake.lifecycle_ret = -EINVAL;
		EXPECT_EQ(400, request(self->sock, "PUT", paths[i], NULL, 0, &r));
		self->fake.lifecycle_ret = -ECONNREFUSED;
		EXPECT_EQ(500, request(self->sock, "PUT", paths[i], NULL, 0, &r));
		EXPECT_EQ(405, request(self->sock, "GET", paths[i], NULL, 0, &r));
	}
	EXPECT_EQ(12, self->fake.lifecycle_calls);
}

TEST_F(api, credentials_and_proxy_change_at_run_time)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{\"registry_auth\": 5}", "{\"proxy\": \"x\"}",
		"{\"proxy_url\": null}", "{\"registry_auth\": \"a\", \"extra\": 1}",
	};
	struct reply r;
	unsigned int i;

	EXPECT_EQ(204, request(self->sock, "PUT", "/api/v1/config?id=images",
			       "{\"registry_auth\": \"dXNlcjpwdw==\"}", 33, &r));
	EXPECT_STREQ("images", self->fake.update_id);
	EXPECT_STREQ("dXNlcjpwdw==", self->fake.update_auth);
	EXPECT_STREQ("(same)", self->fake.update_proxy);
	EXPECT_EQ(204, request(self->sock, "PUT", "/api/v1/config",
			       "{\"proxy_url\": \"\"}", 17, &r));
	EXPECT_STREQ("(all)", self->fake.update_id);
	EXPECT_STREQ("", self->fake.update_proxy);
	EXPECT_EQ(404, request(self->sock, "PUT", "/api/v1/config?id=nope",
			       "{\"proxy_url\": \"http://p:3128\"}", 30, &r));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(400, request(self->sock, "PUT", "/api/v1/config", bad[i],
				       strlen(bad[i]), &r));
	EXPECT_EQ(2, self->fake.updates);
	EXPECT_EQ(405, request(self->sock, "GET", "/api/v1/config", NULL, 0, &r));
}

TEST_F(api, the_socket_is_ours_alone)
{
	struct api_server *second;
	char path[160];
	int fd;

	/* A live server answers there: not taken over. */
	EXPECT_EQ(-EADDRINUSE, api_start(self->sock, &self->ops, &second));
	/* A file that is not a socket is never removed. */
	snprintf(path, sizeof(path), "%s/file", self->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EEXIST, api_start(path, &self->ops, &second));
	unlink(path);
}

/*
 * nydus-snapshotter watches a daemon through one idle connection to its
 * socket and takes a hangup on it for the daemon's death: an idle
 * connection must stay open (libmicrohttpd closed it after 30 s), and
 * still serve a request afterwards.
 */
#define IDLE_WAIT_MS	35000

TEST_F_TIMEOUT(api, an_idle_connection_stays_open, 90)
{
	static const char req[] = "GET /api/v1/daemon HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char buf[512];
	ssize_t n;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLRDHUP };
	/* Nothing may happen on it: no data, no hangup. */
	EXPECT_EQ(0, poll(&pfd, 1, IDLE_WAIT_MS));
	ASSERT_EQ((ssize_t)strlen(req), send(fd, req, strlen(req), MSG_NOSIGNAL));
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200", 12));
	close(fd);
}

/* The snapshotter's body (nydusd "config" form), as nydus-api.md shows it. */
static const char snapshotter_body[] =
	"{\"type\": \"bootstrap\", \"id\": \"img1\", \"domain_id\": \"dom\","
	" \"config\": {\"id\": \"img1\", \"backend_type\": \"registry\","
	" \"backend_config\": {\"scheme\": \"https\", \"host\": \"r.test\","
	" \"repo\": \"a/b\", \"timeout\": 5, \"retry_limit\": 2},"
	" \"cache_type\": \"fscache\", \"cache_config\": {\"work_dir\": \"/var/cache\"},"
	" \"prefetch_config\": {\"enable\": true, \"threads_count\": 8,"
	" \"merging_size\": 1048576, \"bandwidth_rate\": 0}}}";

TEST_F(api, images_bind_resolve_and_unbind)
{
	static const char v2_body[] =
		"{\"type\": \"bootstrap\", \"id\": \"img2\","
		" \"config_v2\": {\"version\": 2, \"id\": \"c2\","
		" \"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/srv\"}},"
		" \"cache\": {\"type\": \"fscache\"}}}";
	static const char str_body[] =
		"{\"type\": \"bootstrap\", \"id\": \"img3\", \"config\":"
		" \"{\\\"backend_type\\\": \\\"s3\\\", \\\"backend_config\\\":"
		" {\\\"endpoint\\\": \\\"127.0.0.1:9000\\\", \\\"scheme\\\": \\\"http\\\","
		" \\\"bucket_name\\\": \\\"b\\\", \\\"region\\\": \\\"r\\\"}}\"}";
	struct fscached_config *cfg;
	struct reply r;

	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/blobs", snapshotter_body,
			       strlen(snapshotter_body), &r));
	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/blobs", v2_body,
			       strlen(v2_body), &r));
	/* "config" as a string of JSON, as some snapshotters send it. */
	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/blobs", str_body,
			       strlen(str_body), &r));
	cfg = bindings_resolve(&fake_bindings, "img3", "img3");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("s3", cfg->backend_type);
	config_free(cfg);
	EXPECT_EQ(409, request(self->sock, "PUT", "/api/v2/blobs", v2_body,
			       strlen(v2_body), &r));
	cfg = bindings_resolve(&fake_bindings, "dom", "img1");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("registry", cfg->backend_type);
	EXPECT_TRUE(cfg->prefetch.enable);
	EXPECT_EQ(8, cfg->prefetch.threads);
	config_free(cfg);
	/* No device table given: the domain's only image serves its blobs. */
	cfg = bindings_resolve(&fake_bindings, "dom", "some-data-blob");
	ASSERT_NE(NULL, cfg);
	config_free(cfg);
	/* Without domain_id the image is its own domain. */
	cfg = bindings_resolve(&fake_bindings, "img2", "img2");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("localfs", cfg->backend_type);
	config_free(cfg);
	EXPECT_EQ(NULL, bindings_resolve(&fake_bindings, "other", "img1"));
	ASSERT_EQ(200, request(self->sock, "GET", "/api/v2/blobs", NULL, 0, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"img1\""));

	EXPECT_EQ(204, request(self->sock, "DELETE",
			       "/api/v2/blobs?domain_id=dom&blob_id=img1", NULL, 0, &r));
	EXPECT_EQ(NULL, bindings_resolve(&fake_bindings, "dom", "img1"));
	EXPECT_EQ(404, request(self->sock, "DELETE",
			       "/api/v2/blobs?domain_id=dom&blob_id=img1", NULL, 0, &r));
	EXPECT_EQ(501, request(self->sock, "DELETE", "/api/v2/blobs?blob_id=img1",
			       NULL, 0, &r));
	EXPECT_EQ(400, request(self->sock, "DELETE", "/api/v2/blobs", NULL, 0, &r));
	EXPECT_EQ(400, request(self->sock, "DELETE", "/api/v2/blobs?blob_id=&domain_id=",
			       NULL, 0, &r));
}

/* An EROFS bootstrap whose data is all its own: no device table. */
static int write_bootstrap(const char *path)
{
	static unsigned char img[4096];
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	img[1024] = 0xe2, img[1025] = 0xe1, img[1026] = 0xf5, img[1027] = 0xe0;
	img[1024 + 12] = 12;
	ret = fwrite(img, sizeof(img), 1, f) == 1 ? 0 : -EIO;
	fclose(f);
	return ret;
}

/*
 * What nydus-snapshotter 0.13.4 really sends (captured from it): its Go
 * structs carry nydusd's backend read-ahead and proxy switches, off; the
 * bootstrap is served from metadata_path; it unbinds by domain alone and
 * polls GET /api/v1/metrics.
 */
TEST_F(api, the_snapshotters_own_requests)
{
	char dir[] = "/tmp/fscached-snap-XXXXXX", boot[64], body[2048], v[64];
	struct fscached_config *cfg;
	struct reply r;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(boot, sizeof(boot), "%s/image.boot", dir);
	ASSERT_EQ(0, write_bootstrap(boot));
	snprintf(body, sizeof(body),
		 "{\"type\":\"bootstrap\",\"id\":\"fe02\",\"domain_id\":\"fe02\","
		 "\"config\":{\"id\":\"fe02\",\"backend_type\":\"registry\","
		 "\"backend_config\":{\"readahead\":false,\"host\":\"localhost:5000\","
		 "\"repo\":\"fscached/test\",\"scheme\":\"http\",\"proxy\":{\"fallback\":false},"
		 "\"timeout\":5,\"connect_timeout\":5},\"cache_type\":\"fscache\","
		 "\"cache_config\":{\"work_dir\":\"%s\"},\"prefetch_config\":{\"enable\":false,"
		 "\"threads_count\":2,\"merging_size\":1048576,\"bandwidth_rate\":0},"
		 "\"metadata_path\":\"%s\"}}", dir, boot);
	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/blobs", body,
			       strlen(body), &r));
	/* The bootstrap from its local file; the rest from the registry. */
	cfg = bindings_resolve(&fake_bindings, "fe02", "fe02");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("localfs", cfg->backend_type);
	EXPECT_NE(NULL, strstr(json_object_to_json_string(cfg->backend), "image.boot"));
	/* A manager of its own: never the one of the image's data blobs. */
	EXPECT_EQ(0, strncmp(cfg->id, "bootstrap:", 10));
	config_free(cfg);
	cfg = bindings_resolve(&fake_bindings, "fe02", "sha256-layer");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("registry", cfg->backend_type);
	config_free(cfg);

	/* Its localfs form, with a proxy switch a directory has no use for. */
	snprintf(body, sizeof(body),
		 "{\"type\":\"bootstrap\",\"id\":\"l1\",\"domain_id\":\"fe02\","
		 "\"config\":{\"id\":\"l1\",\"backend_type\":\"localfs\","
		 "\"backend_config\":{\"dir\":\"%s\",\"readahead\":false,"
		 "\"proxy\":{\"fallback\":false}},\"cache_type\":\"fscache\"}}", dir);
	ASSERT_EQ(204, request(self->sock, "PUT", "/api/v2/blobs", body,
			       strlen(body), &r));
	/* Read-ahead asked for for real: refused, saying why. */
	snprintf(body, sizeof(body),
		 "{\"type\":\"bootstrap\",\"id\":\"l2\","
		 "\"config\":{\"backend_type\":\"localfs\","
		 "\"backend_config\":{\"dir\":\"%s\",\"readahead\":true}}}", dir);
	EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/blobs", body,
			       strlen(body), &r));
	EXPECT_NE(NULL, strstr(field(&r, "message", v, sizeof(v)), "readahead"));

	ASSERT_EQ(200, request(self->sock, "GET", "/api/v1/metrics", NULL, 0, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"data_read\""));
	EXPECT_NE(NULL, strstr(r.body, "\"fop_hits\""));

	/* Unbinding by domain alone takes every image of the domain. */
	EXPECT_EQ(204, request(self->sock, "DELETE", "/api/v2/blobs?domain_id=fe02",
			       NULL, 0, &r));
	EXPECT_EQ(NULL, bindings_resolve(&fake_bindings, "fe02", "fe02"));
	EXPECT_EQ(0, fake_bindings.count);
	EXPECT_EQ(404, request(self->sock, "DELETE", "/api/v2/blobs?domain_id=fe02",
			       NULL, 0, &r));
	unlink(boot);
	rmdir(dir);
}

TEST_F(api, bad_bind_requests_change_nothing)
{
	static const char *const bad[] = {
		"{\"type\": \"bootstrap\", \"id\": \"../x\", \"config_v2\": {}}",
		"{\"type\": \"datablob\", \"id\": \"x\", \"config_v2\": {}}",
		"{\"type\": \"bootstrap\", \"id\": \"x\"}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"colour\": 1, \"config_v2\": {}}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"config\": {\"backend_type\": \"ftp\"}}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"config\": {\"backend_type\": \"localfs\", \"colour\": 1}}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"config\": \"not json\"}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"config_v2\": {\"version\": 2,"
		" \"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/srv\"}},"
		" \"cache\": {\"type\": \"dummy\"}}}",
		"{\"type\": \"bootstrap\", \"id\": \"x\", \"metadata_path\": \"/nonexistent\","
		" \"config_v2\": {\"version\": 2, \"backend\": {\"type\": \"localfs\","
		" \"localfs\": {\"dir\": \"/srv\"}}, \"cache\": {\"type\": \"fscache\"}}}",
		"[]",
	};
	struct reply r;
	unsigned int i;
	char v[64];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(400, request(self->sock, "PUT", "/api/v2/blobs", bad[i],
				       strlen(bad[i]), &r));
		EXPECT_STREQ("InvalidRequest", field(&r, "code", v, sizeof(v)));
		TH_LOG("%s -> %s", bad[i], r.body);
	}
	EXPECT_EQ(0, fake_bindings.count);
}

/* BUILD/tests/unit/test_api -> BUILD/fscachectl */
static const char *fscachectl_bin(char *out, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return "build/fscachectl";
	self[n] = '\0';
	slash = strstr(self, "/tests/unit/");
	if (slash)
		*slash = '\0';
	snprintf(out, size, "%s/fscachectl", self);
	return out;
}

/* Run fscachectl ARGS against @sock: exit status, output in @out. */
static int ctl(const char *sock, const char *args, char *out, size_t size)
{
	char bin[PATH_MAX], cmd[PATH_MAX * 2];
	size_t n;
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "%s --sock %s %s 2>&1",
		 fscachectl_bin(bin, sizeof(bin)), sock, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(api, fscachectl_speaks_to_the_socket)
{
	char bin[PATH_MAX], out[4096], cfg[160], args[512];
	struct fscached_config *c;
	FILE *f;

	if (access(fscachectl_bin(bin, sizeof(bin)), X_OK))
		SKIP(return, "%s is not built", bin);
	ASSERT_EQ(0, ctl(self->sock, "status", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "RUNNING"));
	ASSERT_EQ(0, ctl(self->sock, "metrics", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "prefetched pieces          4 (0.0 MiB, 50% of the open blobs)"));
	ASSERT_EQ(0, ctl(self->sock, "--json metrics", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"prefetch_data_amount\""));

	snprintf(cfg, sizeof(cfg), "%s/cfg.json", self->dir);
	f = fopen(cfg, "w");
	ASSERT_NE(NULL, f);
	fputs("{\"version\": 2, \"id\": \"c\", \"backend\": {\"type\": \"localfs\","
	      " \"localfs\": {\"dir\": \"/srv\"}}, \"cache\": {\"type\": \"fscache\"}}", f);
	fclose(f);
	snprintf(args, sizeof(args), "bind img9 %s --domain dd", cfg);
	ASSERT_EQ(0, ctl(self->sock, args, out, sizeof(out)));
	c = bindings_resolve(&fake_bindings, "dd", "img9");
	ASSERT_NE(NULL, c);
	config_free(c);
	ASSERT_EQ(0, ctl(self->sock, "blobs", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "img9"));
	/* A second bind of the same image: the API's answer, exit 1. */
	EXPECT_EQ(1, ctl(self->sock, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "AlreadyExists"));
	ASSERT_EQ(0, ctl(self->sock, "unbind img9 --domain dd", out, sizeof(out)));
	EXPECT_EQ(1, ctl(self->sock, "unbind img9 --domain dd", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "HTTP 404"));
	EXPECT_EQ(2, ctl(self->sock, "frobnicate", out, sizeof(out)));
	EXPECT_EQ(1, ctl("/nonexistent/api.sock", "status", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "cannot reach fscached"));
	unlink(cfg);
}

TEST(a_stale_socket_is_replaced)
{
	struct fake_daemon fake = { 0 };
	struct api_daemon ops = { .ctx = &fake, .info = fake_info,
				  .stats = fake_stats, .exit = fake_exit,
				  .bindings = &fake_bindings };
	struct api_server *s;
	char dir[64] = "/tmp/fscached-api-XXXXXX", sock[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct reply r;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	/* What a killed daemon leaves: a socket nobody answers on. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_GE(fd, 0);
	strcpy(sa.sun_path, sock);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(fd);
	ASSERT_EQ(0, access(sock, F_OK));
	ASSERT_EQ(0, api_start(sock, &ops, &s));
	EXPECT_EQ(200, request(sock, "GET", "/api/v1/daemon", NULL, 0, &r));
	api_server_stop(s);
	rmdir(dir);
}

TEST_HARNESS_MAIN
