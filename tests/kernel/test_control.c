// SPDX-License-Identifier: GPL-2.0
/*
 * The control API on a real daemon in the test kernel, on the front end
 * ktest_frontend() picks: fscachectl and the metrics while a prefetch
 * runs, images bound and unbound through the API as nydus-snapshotter binds
 * them (cachefiles' own: fanotify mounts through /api/v1/mount), and cache
 * files culled on request.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "holder.h"
#include "ktest.h"

FIXTURE(control) {
	const char *fe;		/* "cachefiles" or "fanotify" */
	struct ktest_daemon d;
	char blobs[PATH_MAX];
	char mnt[PATH_MAX];
};

FIXTURE_SETUP(control)
{
	memset(self, 0, sizeof(*self));
	KTEST_PICK_FRONTEND(self->fe);
	snprintf(self->blobs, sizeof(self->blobs), "%s/blobs", ktest_images());
	ASSERT_EQ(0, ktest_mkdtemp("mnt", self->mnt, sizeof(self->mnt)));
}

FIXTURE_TEARDOWN(control)
{
	int status;

	umount2(self->mnt, MNT_DETACH);
	if (!self->d.pid)
		return;
	status = ktest_daemon_stop(&self->d);
	if (status)
		ktest_daemon_dump_log(&self->d);
	EXPECT_EQ(0, status);
}

/*
 * The API and fscachectl on a real daemon: its state, the prefetch's
 * progress, and a clean exit asked for through the socket.
 */
TEST_F_TIMEOUT(control, api_shows_prefetch_progress_and_stops_the_daemon, 300)
{
	char dir[PATH_MAX], config[PATH_MAX + 32], sock[PATH_MAX + 32];
	char cmd[PATH_MAX * 3], out[4096], ctl[PATH_MAX], blob[PATH_MAX * 2];
	const char *extra[] = { "--config", config, "--apisock", sock,
				"--id", "ktest", NULL };
	const char *image, *data;
	uint64_t bytes = 0;
	unsigned int waited;
	struct stat st;

	snprintf(ctl, sizeof(ctl), "%s", getenv("FSCACHED_BIN"));
	snprintf(strrchr(ctl, '/') + 1, sizeof(ctl) - (strrchr(ctl, '/') + 1 - ctl),
		 "fscachectl");
	ASSERT_EQ(0, ktest_mkdtemp("api", dir, sizeof(dir)));
	snprintf(config, sizeof(config), "%s/config.json", dir);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	ASSERT_EQ(0, ktest_write_prefetch_config(config, self->blobs));
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
	ASSERT_EQ(0, stat(sock, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);

	snprintf(cmd, sizeof(cmd), "%s --sock %s status", ctl, sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "RUNNING"));
	EXPECT_NE(NULL, strstr(out, "ktest"));

	image = ktest_lazy_main(&self->d, &data);
	snprintf(blob, sizeof(blob), "%s/%s", self->blobs, data);
	ASSERT_EQ(0, stat(blob, &st));
	ASSERT_EQ(0, ktest_mount_on(&self->d, image, NULL, self->mnt));
	/* Prefetch starts after the blob's first read: a page. */
	snprintf(blob, sizeof(blob), "%s/big/file-64m", self->mnt);
	EXPECT_EQ(0, ktest_read_page(blob));
	for (waited = 0; waited < 60000 && bytes < (uint64_t)st.st_size;
	     waited += 100) {
		usleep(100000);
		ASSERT_EQ(0, ktest_daemon_counter(&self->d,
				"factory.total.prefetch_bytes", &bytes));
	}
	snprintf(cmd, sizeof(cmd), "%s --sock %s metrics", ctl, sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	TH_LOG("fscachectl metrics:\n%s", out);
	EXPECT_NE(NULL, strstr(out, "100% of the open blobs"));
	snprintf(cmd, sizeof(cmd), "%s --sock %s --json metrics", ctl, sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"prefetch_data_amount\""));
	snprintf(cmd, sizeof(cmd), "curl -sf --unix-socket %s http://localhost/metrics", sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, ktest_on_fanotify(&self->d) ?
				    "fscached_frontend_fills " :
				    "fscached_frontend_reads "));

	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	snprintf(cmd, sizeof(cmd),
		 "curl -sf -o /dev/null -w '%%{http_code}' -X PUT --unix-socket %s http://localhost/api/v1/daemon/exit",
		 sock);
	ASSERT_EQ(0, ktest_run_capture(cmd, out, sizeof(out)));
	EXPECT_STREQ("204", out);
	EXPECT_EQ(0, ktest_daemon_wait(&self->d, 10000));
	/* The socket goes with the daemon. */
	EXPECT_NE(0, access(sock, F_OK));
}

/*
 * As the snapshotter drives nydusd: a daemon with no backend of its own,
 * an image bound through the API (its data blob named by the bootstrap's
 * device table), mounted with domain_id, then unbound.
 */
TEST_F_TIMEOUT(control, an_image_bound_through_the_api_mounts, 120)
{
	char dir[PATH_MAX], sock[PATH_MAX + 32], body[PATH_MAX * 3];
	const char *extra[] = { "--apisock", sock, NULL };
	struct ktest_tree_stats st;

	if (!ktest_have_chunked())
		SKIP(return, "no chunked image (tools/erofs-set-tag not built)");
	if (!strcmp(self->fe, "fanotify"))
		SKIP(return, "fanotify mounts through /api/v1/mount, with no binding (test_fanotify's plain_bootstrap_with_a_data_blob)");
	ASSERT_EQ(0, ktest_mkdtemp("bind", dir, sizeof(dir)));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	ASSERT_EQ(0, ktest_daemon_start(&self->d, NULL, extra));
	/* Nothing bound: the kernel's OPEN is refused, the daemon stays. */
	EXPECT_NE(0, ktest_mount("chunked", "dd", self->mnt));

	snprintf(body, sizeof(body), "{\"type\": \"bootstrap\", \"id\": \"chunked\", \"domain_id\": \"dd\","
		   " \"metadata_path\": \"%s/chunked\", \"config_v2\": {\"version\": 2,"
		   " \"id\": \"k\", \"backend\": {\"type\": \"localfs\","
		   " \"localfs\": {\"dir\": \"%s\"}}, \"cache\": {\"type\": \"fscache\"}}}",
		 self->blobs, self->blobs);
	EXPECT_EQ(204, ktest_api(sock, "PUT", "/api/v2/blobs", body));
	EXPECT_EQ(409, ktest_api(sock, "PUT", "/api/v2/blobs", body));
	EXPECT_EQ(200, ktest_api(sock, "GET", "/api/v2/blobs", NULL));
	ASSERT_EQ(0, ktest_mount("chunked", "dd", self->mnt));
	ASSERT_EQ(0, ktest_compare_image("chunked", self->mnt, &st));
	/* The snapshotter's unmount: unbind, then umount. */
	EXPECT_EQ(204, ktest_api(sock, "DELETE",
				"/api/v2/blobs?domain_id=dd&blob_id=chunked", NULL));
	ASSERT_EQ(0, ktest_umount(self->mnt));
	EXPECT_EQ(404, ktest_api(sock, "DELETE",
				"/api/v2/blobs?domain_id=dd&blob_id=chunked", NULL));
	EXPECT_NE(0, ktest_mount("chunked", "dd", self->mnt));
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

/*
 * How many cache files of @blob_id @d's cache holds: cachefiles' (in any
 * domain), or fanotify's blob file.
 */
static int count_cache_files(const struct ktest_daemon *d, const char *blob_id)
{
	char pattern[PATH_MAX * 2];

	if (ktest_on_fanotify(d))
		snprintf(pattern, sizeof(pattern), "%s/fanotify/%s", d->cache_dir,
			 blob_id);
	else
		snprintf(pattern, sizeof(pattern), "%s/cache/I*/@*/D%s",
			 d->cache_dir, blob_id);
	return ktest_count_paths(pattern);
}

/*
 * cachefiles links a new cache file in when the kernel lets the blob go,
 * which is after umount(2) returns.
 */
static int wait_cache_files(const struct ktest_daemon *d, const char *blob_id,
			    int want)
{
	int n, ms;

	for (ms = 0; ms < 30000; ms += 20) {
		n = count_cache_files(d, blob_id);
		if (n == want)
			break;
		usleep(20000);
	}
	return n;
}

/*
 * The snapshotter's last step after an unmount, DELETE ?blob_id= alone:
 * the blob's cache file goes (refused while mounted; on cachefiles through
 * the kernel's "cull", and the graveyard is emptied), and the next mount
 * fetches again.
 */
TEST_F_TIMEOUT(control, a_blob_is_culled_after_its_unmount, 120)
{
	char dir[PATH_MAX], sock[PATH_MAX + 32], grave[PATH_MAX + 16];
	char grave_all[PATH_MAX + 32];
	const char *extra[] = { "--apisock", sock, NULL };
	struct ktest_tree_stats st;
	uint64_t breads, after;

	ASSERT_EQ(0, ktest_mkdtemp("cull", dir, sizeof(dir)));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	ASSERT_EQ(0, ktest_daemon_start(&self->d, self->blobs, extra));
	snprintf(grave, sizeof(grave), "%s/graveyard", self->d.cache_dir);

	/* Nothing to cull yet: done, as the snapshotter expects for any layer. */
	EXPECT_EQ(204, ktest_api(sock, "DELETE", "/api/v2/blobs?blob_id=dom-a", NULL));
	/* cachefiles links a new cache file in when the blob is first let go. */
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_EQ(1, wait_cache_files(&self->d, "dom-a", 1));
	/* In use: refused, and the file stays. */
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", NULL, self->mnt));
	EXPECT_EQ(409, ktest_api(sock, "DELETE", "/api/v2/blobs?blob_id=dom-a", NULL));
	EXPECT_EQ(1, count_cache_files(&self->d, "dom-a"));
	EXPECT_EQ(400, ktest_api(sock, "DELETE", "/api/v2/blobs?blob_id=..", NULL));

	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_EQ(204, ktest_api(sock, "DELETE", "/api/v2/blobs?blob_id=dom-a", NULL));
	EXPECT_EQ(0, count_cache_files(&self->d, "dom-a"));
	snprintf(grave_all, sizeof(grave_all), "%s/*", grave);
	if (!ktest_on_fanotify(&self->d))
		EXPECT_EQ(0, ktest_count_paths(grave_all));
	EXPECT_EQ(204, ktest_api(sock, "DELETE", "/api/v2/blobs?blob_id=dom-a", NULL));

	/* Gone for real: the next mount fetches the blob again. */
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.backend_reads",
					  &breads));
	ASSERT_EQ(0, ktest_mount_on(&self->d, "dom-a", NULL, self->mnt));
	ASSERT_EQ(0, ktest_compare_image("dom-a", self->mnt, &st));
	ASSERT_EQ(0, ktest_image_umount(&self->d, self->mnt));
	EXPECT_EQ(1, wait_cache_files(&self->d, "dom-a", 1));
	ASSERT_EQ(0, ktest_daemon_counter(&self->d, "factory.total.backend_reads",
					  &after));
	EXPECT_GT(after, breads);
	EXPECT_TRUE(ktest_daemon_alive(&self->d));
}

TEST_HARNESS_MAIN
