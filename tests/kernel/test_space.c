// SPDX-License-Identifier: GPL-2.0
/*
 * A cache that never fills its disk: on a 128 MiB ext4 cache filesystem,
 * images worth more than twice that are mounted, read whole and unmounted
 * one after the other. With cachefilesd's limits (the default) fscached
 * culls the least recently used unused cache files and every read succeeds;
 * without them the disk fills and reads fail, which shows the test can.
 * On either front end (ktest_frontend()); fanotify has no volumes, so the
 * case of one volume per image is cachefiles' own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "harness.h"
#include "ktest.h"

/*
 * 120 images of 2.3 MiB (276 MiB) through 128 MiB. The margin between
 * bcull and bstop (4%, 5 MiB here) must hold what readers write while a
 * culling pass runs: two images' worth.
 */
#define IMAGES		240
#define DISK_MB		256

FIXTURE(space) {
	const char *fe;		/* "cachefiles" or "fanotify" */
	struct ktest_daemon d;
	char dir[PATH_MAX];
	char disk[PATH_MAX + 16];	/* the small cache filesystem */
	char blobs[PATH_MAX + 16];
	char mnt[PATH_MAX + 16];
	bool mounted;
	/*
	 * Below this free %, wait (up to 10 s) for culling to bring the disk
	 * back over it before the next mount; 0: mount as fast as we can.
	 */
	unsigned int pace_below;
};

static int run(const char *fmt, const char *a, const char *b)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

FIXTURE_SETUP(space)
{
	char link[PATH_MAX * 2], target[PATH_MAX];
	int i;

	memset(self, 0, sizeof(*self));
	KTEST_PICK_FRONTEND(self->fe);
	ASSERT_EQ(0, ktest_mkdtemp("space", self->dir, sizeof(self->dir)));
	snprintf(self->disk, sizeof(self->disk), "%s/disk", self->dir);
	snprintf(self->blobs, sizeof(self->blobs), "%s/blobs", self->dir);
	snprintf(self->mnt, sizeof(self->mnt), "%s/mnt", self->dir);
	ASSERT_EQ(0, mkdir(self->disk, 0700));
	ASSERT_EQ(0, mkdir(self->blobs, 0700));
	ASSERT_EQ(0, mkdir(self->mnt, 0700));
	ASSERT_EQ(0, run("truncate -s 256M %s/img && mkfs.ext4 -q -F -O ^has_journal %s/img",
			 self->dir, self->dir));
	ASSERT_EQ(0, run("mount -o loop %s/img %s", self->dir, self->disk));
	self->mounted = true;
	/* Every image is dom-a under another blob id: a cache file each. */
	snprintf(target, sizeof(target), "%s/blobs/dom-a", ktest_images());
	for (i = 0; i < IMAGES; i++) {
		snprintf(link, sizeof(link), "%s/img-%02d", self->blobs, i);
		ASSERT_EQ(0, symlink(target, link));
	}
}

FIXTURE_TEARDOWN(space)
{
	umount2(self->mnt, MNT_DETACH);
	if (self->d.pid > 0)
		ktest_daemon_stop(&self->d);
	if (self->mounted)
		umount2(self->disk, MNT_DETACH);
	/* The 256 MiB image lives on the guest's scratch disk: give it back. */
	if (self->dir[0])
		run("rm -rf %s%s", self->dir, "");
}

static unsigned int free_percent(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) || !sv.f_blocks)
		return 0;
	return sv.f_bavail * 100 / sv.f_blocks;
}

/*
 * Mount, read whole and unmount each image in turn; returns how many were
 * read without an error, and the least free space seen in @lowest.
 */
static int read_all_images(FIXTURE_DATA(space) *self, const char *domain,
			   unsigned int *lowest)
{
	struct ktest_tree_stats st;
	char fsid[16];
	int i, ret, good = 0;

	*lowest = 100;
	for (i = 0; i < IMAGES; i++) {
		snprintf(fsid, sizeof(fsid), "img-%02d", i);
		for (ret = 0; self->pace_below && ret < 200 &&
		     free_percent(self->disk) < self->pace_below; ret++)
			usleep(50000);
		ret = ktest_mount_on(&self->d, fsid, domain, self->mnt);
		if (ret) {
			TH_LOG("mount %s: %s", fsid, strerror(-ret));
			continue;
		}
		if (!ktest_compare_image("dom-a", self->mnt, &st))
			good++;
		ret = ktest_image_umount(&self->d, self->mnt);
		if (ret)
			TH_LOG("umount %s: %s", fsid, strerror(-ret));
		if (free_percent(self->disk) < *lowest)
			*lowest = free_percent(self->disk);
	}
	return good;
}

TEST_F_TIMEOUT(space, culling_keeps_a_small_cache_working, 600)
{
	char cache[PATH_MAX + 16];
	uint64_t culled = 0, errors = 0, bytes = 0;
	unsigned int lowest;
	int good;


	snprintf(cache, sizeof(cache), "%s/cache", self->disk);
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, NULL));
	good = read_all_images(self, "pool", &lowest);
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "culled", &culled));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "culled_bytes", &bytes));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "read_errors", &errors));
	TH_LOG("%d of %d images (%d MiB) read right through a %d MiB cache; %llu cache files culled (%llu KiB); lowest free space %u%%; %llu read errors",
	       good, IMAGES, IMAGES * 23 / 10, DISK_MB,
	       (unsigned long long)culled, (unsigned long long)(bytes >> 10),
	       lowest, (unsigned long long)errors);
	EXPECT_EQ(IMAGES, good);
	EXPECT_EQ(0, errors);
	EXPECT_LT(0, culled);
	if (good != IMAGES)
		ktest_daemon_dump_log(&self->d);
}

/*
 * nydus-snapshotter's default: one domain (volume) per image. Each volume
 * is also 257 directories (1 MiB here), which only culling the emptied
 * volumes themselves gives back.
 */
TEST_F_TIMEOUT(space, one_volume_per_image_keeps_working, 900)
{
	/*
	 * Below bstop the kernel refuses to make a new volume, and the mount
	 * fails: the margin above it must hold the images mounted while a
	 * pass runs (up to 2 s while it empties the graveyard of 257
	 * directories a volume), and the guest mounts up to 20 a second. So
	 * below bcull the next mount waits for the pass, as a kubelet that
	 * pulls one layer after another would; if culling does not bring the
	 * disk back, it goes on after 10 s and fails.
	 */
	const char *extra[] = { "--cache-limits", "brun=20%,bcull=15%",
				"--log-level", "debug", NULL };
	char cmd[PATH_MAX * 2];
	char cache[PATH_MAX + 16];
	uint64_t culled = 0, vols = 0, errors = 0;
	unsigned int lowest;
	int good;

	if (!strcmp(self->fe, "fanotify"))
		SKIP(return, "fanotify has no volumes: a blob file is all an image leaves");
	snprintf(cache, sizeof(cache), "%s/cache", self->disk);
	self->pace_below = 15;
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, extra));
	good = read_all_images(self, NULL, &lowest);
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "culled", &culled));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "culled_volumes", &vols));
	ASSERT_EQ(0, ktest_frontend_counter(&self->d, "read_errors", &errors));
	TH_LOG("one volume per image: %d of %d images read right through a %d MiB cache; %llu cache files and %llu volumes culled; lowest free space %u%%; %llu read errors",
	       good, IMAGES, DISK_MB, (unsigned long long)culled,
	       (unsigned long long)vols, lowest, (unsigned long long)errors);
	EXPECT_EQ(IMAGES, good);
	EXPECT_EQ(0, errors);
	EXPECT_LT(0, vols);
	if (good != IMAGES) {
		snprintf(cmd, sizeof(cmd), "grep -E 'space|cull|low' %s | head -60 | sed 's/^/# /'",
			 self->d.log_path);
		if (system(cmd))
			TH_LOG("no space lines in the log");
	}
}

TEST_F_TIMEOUT(space, without_culling_the_same_run_fails, 600)
{
	const char *extra[] = { "--cache-limits", "off", NULL };
	char cache[PATH_MAX + 16];
	unsigned int lowest;
	int good;

	snprintf(cache, sizeof(cache), "%s/cache", self->disk);
	ASSERT_EQ(0, ktest_daemon_start_in(&self->d, cache, self->blobs, extra));
	good = read_all_images(self, "pool", &lowest);
	TH_LOG("without culling: %d of %d images read right; lowest free space %u%%",
	       good, IMAGES, lowest);
	EXPECT_GT(IMAGES, good);
}

TEST_HARNESS_MAIN
