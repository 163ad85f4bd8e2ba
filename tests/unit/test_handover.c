// SPDX-License-Identifier: GPL-2.0
/*
 * What keeps the cache device across a restart, on plain sockets: passing
 * a descriptor, systemd's fd store and LISTEN_FDS, nydus-snapshotter's
 * supervisor protocol, and the state file of the bound images.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "image/bindings.h"
#include "config/config.h"
#include "lib/fdpass.h"
#include "harness.h"
#include "service/notify.h"
#include "service/supervisor.h"

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

TEST(a_descriptor_travels_with_the_first_bytes)
{
	int sv[2], p[2], got = -1, extra;
	char buf[16] = "";

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, fdpass_send(sv[0], "hello", 5, p[0]));
	ASSERT_EQ(5, fdpass_recv(sv[1], buf, sizeof(buf), &got));
	EXPECT_STREQ("hello", buf);
	ASSERT_GE(got, 0);
	EXPECT_TRUE(same_file(got, p[0]));
	EXPECT_EQ(FD_CLOEXEC, fcntl(got, F_GETFD) & FD_CLOEXEC);
	/* A second descriptor does not replace the first: it is closed. */
	ASSERT_EQ(0, fdpass_send(sv[0], "x", 1, p[1]));
	extra = got;
	ASSERT_EQ(1, fdpass_recv(sv[1], buf, sizeof(buf), &got));
	EXPECT_EQ(extra, got);
	close(sv[0]);
	EXPECT_EQ(0, fdpass_recv(sv[1], buf, sizeof(buf), &got));
	close(got);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

TEST(the_fd_store_gets_the_device_with_its_name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, p[2], got = -1;
	char msg[128] = "";

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/fscached-fdstore-%d",
		 (int)getpid());
	unlink(sa.sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_EQ(0, bind(sock, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, pipe(p));
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	EXPECT_EQ(1, service_notify_fd("FDSTORE=1\nFDNAME=cachefiles", p[0]));
	ASSERT_LT(0, fdpass_recv(sock, msg, sizeof(msg) - 1, &got));
	EXPECT_STREQ("FDSTORE=1\nFDNAME=cachefiles", msg);
	EXPECT_TRUE(same_file(got, p[0]));
	unsetenv("NOTIFY_SOCKET");
	EXPECT_EQ(0, service_notify_fd("FDSTORE=1", p[0]));
	close(got);
	close(p[0]);
	close(p[1]);
	close(sock);
	unlink(sa.sun_path);
}

TEST(listen_fds_give_the_named_descriptor_once)
{
	char pid[32];
	int p[2];

	ASSERT_EQ(0, pipe(p));
	/* fds 3 and 4 as systemd would pass them. */
	ASSERT_EQ(13, dup2(p[0], 13));
	ASSERT_EQ(14, dup2(p[1], 14));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "12", 1);
	setenv("LISTEN_FDNAMES", "a:b:c:d:e:f:g:h:i:j:cachefile:cachefiles", 1);
	EXPECT_EQ(14, service_listen_fd("cachefiles"));
	EXPECT_EQ(NULL, getenv("LISTEN_FDS"));
	/* Asked again, or for another process, or beyond LISTEN_FDS: none. */
	EXPECT_EQ(-ENOENT, service_listen_fd("cachefiles"));
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "12", 1);
	setenv("LISTEN_FDNAMES", "cachefiles", 1);
	EXPECT_EQ(-ENOENT, service_listen_fd("cachefiles"));
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "x:cachefiles", 1);
	EXPECT_EQ(-ENOENT, service_listen_fd("cachefiles"));
	close(13);
	close(14);
	close(p[0]);
	close(p[1]);
}

/* The snapshotter's side: one connection, receive or send, then close. */
struct supervisor_peer {
	int lfd;
	bool give;		/* send states + fd, else receive them */
	int fd;			/* to give, or received */
	char states[256];
	bool send_no_fd;
};

static void *supervisor_peer_fn(void *arg)
{
	struct supervisor_peer *s = arg;
	size_t used = 0;
	ssize_t n;
	int c;

	c = accept(s->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	if (s->give) {
		fdpass_send(c, s->states, strlen(s->states),
			    s->send_no_fd ? -1 : s->fd);
	} else {
		s->fd = -1;
		while ((n = fdpass_recv(c, s->states + used,
					sizeof(s->states) - 1 - used, &s->fd)) > 0)
			used += n;
		s->states[used] = '\0';
	}
	close(c);
	return NULL;
}

static int peer_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		return -1;
	return fd;
}

TEST(the_supervisor_keeps_and_gives_back_the_device_and_states)
{
	struct supervisor_peer peer = { 0 };
	char path[64], *states = NULL;
	pthread_t t;
	size_t len;
	int p[2], fd = -1;

	snprintf(path, sizeof(path), "/tmp/fscached-sup-%d", (int)getpid());
	ASSERT_EQ(0, pipe(p));
	/* Nobody listens: a clear refusal. */
	unlink(path);
	EXPECT_EQ(-ENOENT, supervisor_send_states(path, p[0], "{}", 2));

	peer.lfd = peer_listen(path);
	ASSERT_GE(peer.lfd, 0);
	pthread_create(&t, NULL, supervisor_peer_fn, &peer);
	EXPECT_EQ(0, supervisor_send_states(path, p[0], "{\"a\": 1}", 8));
	pthread_join(t, NULL);
	EXPECT_STREQ("{\"a\": 1}", peer.states);
	ASSERT_GE(peer.fd, 0);
	EXPECT_TRUE(same_file(peer.fd, p[0]));

	peer.give = true;
	pthread_create(&t, NULL, supervisor_peer_fn, &peer);
	EXPECT_EQ(0, supervisor_take_states(path, &fd, &states, &len));
	pthread_join(t, NULL);
	EXPECT_EQ(8, len);
	EXPECT_STREQ("{\"a\": 1}", states);
	EXPECT_TRUE(same_file(fd, p[0]));
	free(states);
	close(fd);

	/* A supervisor with nothing to give: -ENODATA, nothing leaks. */
	peer.send_no_fd = true;
	pthread_create(&t, NULL, supervisor_peer_fn, &peer);
	EXPECT_EQ(-ENODATA, supervisor_take_states(path, &fd, &states, &len));
	pthread_join(t, NULL);

	close(peer.fd);
	close(peer.lfd);
	unlink(path);
	close(p[0]);
	close(p[1]);
}

static struct fscached_config *registry_config(void)
{
	struct fscached_config *cfg = NULL;
	char err[CONFIG_ERR_MAX];

	config_parse_string(
		"{\"version\": 2, \"id\": \"r\", \"backend\": {\"type\": \"registry\","
		" \"registry\": {\"scheme\": \"http\", \"host\": \"127.0.0.1:5000\","
		" \"repo\": \"lib/img\", \"auth\": \"dXNlcjpwYXNz\"}},"
		" \"cache\": {\"type\": \"fscache\", \"prefetch\": {\"enable\": true,"
		" \"threads\": 3, \"batch_size\": 65536, \"bandwidth_limit\": 1000}}}",
		&cfg, err, sizeof(err));
	return cfg;
}

TEST(a_configuration_survives_its_json)
{
	struct fscached_config *a = registry_config(), *b = NULL;
	struct json_object *ja, *jb;
	char err[CONFIG_ERR_MAX];

	ASSERT_NE(NULL, a);
	ja = config_to_json(a);
	ASSERT_EQ(0, config_from_json(ja, &b, err, sizeof(err)));
	jb = config_to_json(b);
	EXPECT_STREQ(json_object_to_json_string(ja), json_object_to_json_string(jb));
	EXPECT_TRUE(config_same_manager(a, b));
	EXPECT_EQ(1000, b->prefetch.bandwidth_limit);
	json_object_put(ja);
	json_object_put(jb);
	config_free(a);
	config_free(b);
}

/* PUT /api/v1/config's changes, as the stored configurations take them. */
TEST(run_time_changes_reach_the_configurations_that_take_them)
{
	struct config_update auth = { .registry_auth = "bmV3OnB3" };
	struct config_update proxy = { .proxy_url = "http://127.0.0.1:3128" };
	struct fscached_config *reg = registry_config(), *local = NULL;
	char tags[1][EROFS_DEVICE_TAG_MAX + 1] = { "data" };
	char err[CONFIG_ERR_MAX];
	struct json_object *patch, *v;
	struct bindings b;

	ASSERT_NE(NULL, reg);
	ASSERT_EQ(0, config_new_localfs("l", "/srv", "fscache", &local, err,
					sizeof(err)));
	/* Another id, or a backend with no use for it: nothing changes. */
	EXPECT_EQ(NULL, config_apply_update(reg, "other", &auth));
	EXPECT_EQ(NULL, config_apply_update(local, NULL, &auth));
	EXPECT_EQ(NULL, config_apply_update(local, NULL, &proxy));
	patch = config_apply_update(reg, "r", &auth);
	ASSERT_NE(NULL, patch);
	EXPECT_TRUE(json_object_object_get_ex(patch, "auth", &v));
	json_object_put(patch);
	ASSERT_TRUE(json_object_object_get_ex(reg->backend, "auth", &v));
	EXPECT_STREQ("bmV3OnB3", json_object_get_string(v));
	/* "" removes it. */
	auth.registry_auth = "";
	json_object_put(config_apply_update(reg, NULL, &auth));
	EXPECT_FALSE(json_object_object_get_ex(reg->backend, "auth", &v));

	bindings_init(&b);
	ASSERT_EQ(0, bindings_add(&b, "d", "img", NULL, reg, tags, 1));
	ASSERT_EQ(0, bindings_add(&b, "e", "img2", NULL, local, NULL, 0));
	EXPECT_EQ(1, bindings_update_configs(&b, NULL, &proxy));
	EXPECT_EQ(0, bindings_update_configs(&b, "l", &proxy));
	reg = bindings_resolve(&b, "d", "data");
	ASSERT_NE(NULL, reg);
	EXPECT_NE(NULL, strstr(json_object_to_json_string(reg->backend),
			       "127.0.0.1:3128"));
	config_free(reg);
	bindings_destroy(&b);
}

TEST(bound_images_are_saved_and_bound_again)
{
	char dir[] = "/tmp/fscached-state-XXXXXX", path[64];
	char tags[2][EROFS_DEVICE_TAG_MAX + 1] = { "data-1", "data-2" };
	struct fscached_config *cfg;
	struct json_object *root, *saved;
	struct bindings a, b;
	char err[CONFIG_ERR_MAX];
	struct stat st;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fscached.state", dir);
	bindings_init(&a);
	ASSERT_EQ(0, bindings_persist_to(&a, path));
	ASSERT_EQ(0, bindings_add(&a, "dom", "img1", NULL, registry_config(), tags, 2));
	ASSERT_EQ(0, bindings_add(&a, "img2", "img2", NULL, registry_config(), NULL, 0));
	ASSERT_EQ(0, bindings_remove(&a, "img2", "img2"));
	ASSERT_EQ(0, bindings_add(&a, "img3", "img3", NULL, registry_config(), NULL, 0));
	/* It holds credentials. */
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);

	saved = json_object_from_file(path);
	ASSERT_NE(NULL, saved);
	bindings_init(&b);
	EXPECT_EQ(2, bindings_load_state(&b, saved, err, sizeof(err)));
	cfg = bindings_resolve(&b, "dom", "data-2");
	ASSERT_NE(NULL, cfg);
	EXPECT_STREQ("registry", cfg->backend_type);
	EXPECT_EQ(3, cfg->prefetch.threads);
	config_free(cfg);
	EXPECT_EQ(NULL, bindings_resolve(&b, "img2", "img2"));
	root = bindings_state(&b);
	EXPECT_STREQ(json_object_to_json_string(saved),
		     json_object_to_json_string(root));
	json_object_put(root);
	/* Loaded twice: the second time names what is bound already. */
	EXPECT_EQ(-EINVAL, bindings_load_state(&b, saved, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bound twice"));
	json_object_put(saved);
	bindings_destroy(&b);
	bindings_destroy(&a);
	unlink(path);
	rmdir(dir);
}

TEST(a_bad_state_document_is_refused_with_its_reason)
{
	static const char *const bad[] = {
		"[]",
		"{\"fscached_state\": 9, \"images\": []}",
		"{\"fscached_state\": 1}",
		"{\"fscached_state\": 1, \"images\": [{\"id\": \"x\"}]}",
		"{\"fscached_state\": 1, \"images\": [{\"domain_id\": \"d\", \"id\": \"x\","
		" \"blobs\": [1], \"config\": {}}]}",
		"{\"fscached_state\": 1, \"images\": [{\"domain_id\": \"d\", \"id\": \"x\","
		" \"blobs\": [], \"config\": {\"backend\": {\"type\": \"nope\"}}}]}",
	};
	char err[CONFIG_ERR_MAX];
	struct json_object *doc;
	struct bindings b;
	unsigned int i;

	bindings_init(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc = json_tokener_parse(bad[i]);
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, bindings_load_state(&b, doc, err, sizeof(err)));
		EXPECT_NE(0, strlen(err));
		json_object_put(doc);
	}
	EXPECT_EQ(0, b.count);
	bindings_destroy(&b);
}

TEST_HARNESS_MAIN
