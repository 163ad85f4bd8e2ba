// SPDX-License-Identifier: GPL-2.0
/*
 * End to end from remote backends: EROFS images pushed into a registry with
 * token auth and into S3 (moto), served by fscached from there, mounted in
 * the UML kernel and compared file by file. The servers run inside the
 * guest, on its own loopback. On either front end (ktest_frontend()):
 * cachefiles mounts each image by fsid; fanotify mounts its bootstrap
 * through /api/v1/mount with the daemon's configuration (a plain EROFS
 * image is then a local file-backed mount, with no blob to fetch).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "harness.h"
#include "ktest.h"
#include "srv.h"

struct image {
	char tree[32];
	char fsid[80];
};

FIXTURE(remote) {
	const char *fe;
	char sock[PATH_MAX];
	struct srv srv;
	struct ktest_daemon d;
	struct image images[4];
	unsigned int nr_images;
	char mnt[PATH_MAX];
	char config[PATH_MAX + 16];
};

FIXTURE_SETUP(remote)
{
	char path[PATH_MAX];
	FILE *f;

	KTEST_PICK_FRONTEND(self->fe);
	snprintf(path, sizeof(path), "%s/remote/list", ktest_images());
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (self->nr_images < 4 &&
	       fscanf(f, "%31s %79s", self->images[self->nr_images].tree,
		      self->images[self->nr_images].fsid) == 2)
		self->nr_images++;
	fclose(f);
	ASSERT_GE(self->nr_images, 1);
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
}

FIXTURE_TEARDOWN(remote)
{
	umount2(self->mnt, MNT_DETACH);
	if (self->d.pid && ktest_daemon_stop(&self->d))
		ktest_daemon_dump_log(&self->d);
	srv_stop(&self->srv);
}

/* Upload every blob of TEST_IMAGES/remote with "<kind> <verb> ...". */
static int upload_all(struct srv *s, const char *verb, const char *prefix)
{
	char cmd[PATH_MAX * 2], out[256];
	FILE *p;
	int ret = 0;

	snprintf(cmd, sizeof(cmd), "ls %s/remote | grep -v '^list$'",
		 ktest_images());
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (!ret && fgets(out, sizeof(out), p)) {
		out[strcspn(out, "\n")] = '\0';
		/* registry push REPO FILE (named by digest by itself);
		 * s3 put KEY FILE. */
		if (!strcmp(verb, "push"))
			snprintf(cmd, sizeof(cmd), "%s %s/remote/%s", prefix,
				 ktest_images(), out);
		else
			snprintf(cmd, sizeof(cmd), "%s%s %s/remote/%s", prefix,
				 out, ktest_images(), out);
		ret = srv_run(s, verb, cmd, NULL, 0);
	}
	pclose(p);
	return ret;
}

static int start_daemon(FIXTURE_DATA(remote) *self, const char *backend_json)
{
	const char *extra[] = { "--config", self->config, "--frontend", self->fe,
				"--apisock", self->sock, NULL };
	char dir[PATH_MAX];
	FILE *f;
	int ret;

	ret = ktest_mkdtemp("config", dir, sizeof(dir));
	if (ret)
		return ret;
	snprintf(self->config, sizeof(self->config), "%s/config.json", dir);
	snprintf(self->sock, sizeof(self->sock), "%s/api.sock", dir);
	f = fopen(self->config, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"version\": 2, \"id\": \"remote\", \"backend\": %s,"
		   " \"cache\": {\"type\": \"fscache\"}}\n", backend_json);
	fclose(f);
	return ktest_daemon_start(&self->d, NULL, extra);
}

static int remote_mount(FIXTURE_DATA(remote) *self, const struct image *im)
{
	char src[PATH_MAX];

	if (strcmp(self->fe, "fanotify"))
		return ktest_mount(im->fsid, NULL, self->mnt);
	snprintf(src, sizeof(src), "%s/remote/%s", ktest_images(), im->fsid);
	return ktest_api_mount(self->sock, self->mnt, src, "erofs", NULL) == 204 ?
	       0 : -EIO;
}

static int remote_umount(FIXTURE_DATA(remote) *self)
{
	if (strcmp(self->fe, "fanotify"))
		return ktest_umount(self->mnt);
	return ktest_api_umount(self->sock, self->mnt) == 204 ? 0 : -EIO;
}

static void mount_and_compare(struct __test_metadata *_metadata,
			      FIXTURE_DATA(remote) *self)
{
	char src[PATH_MAX], err[PATH_MAX + 128];
	struct ktest_tree_stats st;
	unsigned int i;
	int ret;

	for (i = 0; i < self->nr_images; i++) {
		ret = remote_mount(self, &self->images[i]);
		if (ret)
			ktest_daemon_dump_log(&self->d);
		ASSERT_EQ(0, ret);
		snprintf(src, sizeof(src), "%s/src/%s", ktest_images(),
			 self->images[i].tree);
		ret = ktest_compare_trees(src, self->mnt, &st, err, sizeof(err));
		if (ret)
			TH_LOG("%s", err);
		ASSERT_EQ(0, ret);
		TH_LOG("%s (fsid %.12s...): %lu files, %llu bytes match",
		       self->images[i].tree, self->images[i].fsid, st.files,
		       st.bytes);
		ASSERT_EQ(0, remote_umount(self));
	}
}

TEST_F_TIMEOUT(remote, images_from_a_registry_with_token_auth, 600)
{
	char json[2048];
	uint64_t reads;
	int ret;

	ret = srv_start(&self->srv, "registry", "--auth token");
	if (ret == 77)
		SKIP(return, "docker-registry is not installed");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, upload_all(&self->srv, "push", "test/image"));
	snprintf(json, sizeof(json),
		 "{\"type\": \"registry\", \"registry\": {\"scheme\": \"http\","
		 " \"host\": \"%s\", \"repo\": \"test/image\", \"auth\": \"%s\"}}",
		 srv_env(&self->srv, "REGISTRY_HOST"),
		 srv_env(&self->srv, "REGISTRY_AUTH"));
	ASSERT_EQ(0, start_daemon(self, json));
	mount_and_compare(_metadata, self);
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.backend_reads", &reads));
	EXPECT_GT(reads, 0);
}

TEST_F_TIMEOUT(remote, images_from_s3, 600)
{
	char json[2048];
	int ret;

	ret = srv_start(&self->srv, "moto", "");
	if (ret == 77)
		SKIP(return, "moto's dependencies are missing");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, upload_all(&self->srv, "put", "layers/"));
	snprintf(json, sizeof(json),
		 "{\"type\": \"s3\", \"s3\": {\"scheme\": \"http\", \"endpoint\": \"%s\","
		 " \"region\": \"%s\", \"bucket_name\": \"%s\", \"object_prefix\": \"layers/\","
		 " \"path_style\": true, \"access_key_id\": \"%s\", \"access_key_secret\": \"%s\"}}",
		 strstr(srv_env(&self->srv, "S3_ENDPOINT"), "://") + 3,
		 srv_env(&self->srv, "S3_REGION"), srv_env(&self->srv, "S3_BUCKET"),
		 srv_env(&self->srv, "S3_ACCESS_KEY_ID"),
		 srv_env(&self->srv, "S3_SECRET_ACCESS_KEY"));
	ASSERT_EQ(0, start_daemon(self, json));
	mount_and_compare(_metadata, self);
}

TEST_HARNESS_MAIN
