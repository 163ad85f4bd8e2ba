// SPDX-License-Identifier: GPL-2.0
/*
 * Readers that compare every block they read, for the kill -9 tests: in a
 * random order and without read-ahead, so that each miss is its own request
 * to the daemon, and with what an EIO means said by the test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"

#define KREAD_BLOCK	4096
/* 50 tries 100 ms apart: a kill every 10-250 ms can meet a block often. */
#define KREAD_TRIES	50

static void kread_count(uint64_t *v)
{
	__atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

/* An EIO that @eio says to try again: counted, and after a pause. */
static bool kread_again(enum ktest_eio eio, int tries,
			struct ktest_read_counts *c)
{
	if (errno != EIO || eio != KTEST_EIO_RETRIED || tries >= KREAD_TRIES)
		return false;
	kread_count(&c->eio);
	kread_count(&c->retries);
	usleep(100000);
	return true;
}

static int kread_block(int sfd, int mfd, const char *path, off_t off,
		       enum ktest_eio eio, struct ktest_read_counts *c)
{
	char got[KREAD_BLOCK], want[KREAD_BLOCK];
	ssize_t n, m, k, zeros = 0;
	int tries = 0;

	m = pread(sfd, want, KREAD_BLOCK, off);
	__atomic_store_n(&c->off, (int64_t)off, __ATOMIC_RELAXED);
	while ((n = pread(mfd, got, KREAD_BLOCK, off)) < 0 &&
	       kread_again(eio, tries, c))
		tries++;
	__atomic_store_n(&c->off, -1, __ATOMIC_RELAXED);
	kread_count(&c->blocks);
	if (n < 0 && errno == EIO && eio == KTEST_EIO_ANSWERS) {
		kread_count(&c->eio);
		return 0;
	}
	if (n < 0) {
		fprintf(stderr, "# reader: %s at %lld: %s\n", path,
			(long long)off, strerror(errno));
		return 2;
	}
	if (n == m && !memcmp(got, want, n))
		return 0;
	for (k = 0; k < n; k++)
		zeros += !got[k];
	kread_count(&c->wrong);
	fprintf(stderr, "# reader: %s at %lld: wrong bytes (%zd read, %zd of them zero)\n",
		path, (long long)off, n, zeros);
	return 3;
}

int ktest_read_file_shuffled(const char *src, const char *mnt, const char *rel,
			     unsigned int *seed, enum ktest_eio eio,
			     struct ktest_read_counts *c)
{
	char a[PATH_MAX], b[PATH_MAX];
	unsigned int *order = NULL, nr, i;
	int sfd, mfd, tries = 0, ret = 0;
	struct stat st;

	snprintf(a, sizeof(a), "%s/%s", src, rel);
	snprintf(b, sizeof(b), "%s/%s", mnt, rel);
	sfd = open(a, O_RDONLY);
	/* From 7.3 metadata is read through the hook too: open can get EIO. */
	while ((mfd = open(b, O_RDONLY)) < 0 && kread_again(eio, tries, c))
		tries++;
	if (sfd < 0 || mfd < 0 || fstat(sfd, &st)) {
		fprintf(stderr, "# reader: open %s: %s\n", b, strerror(errno));
		ret = 2;
		goto out;
	}
	posix_fadvise(mfd, 0, 0, POSIX_FADV_RANDOM);
	nr = (st.st_size + KREAD_BLOCK - 1) / KREAD_BLOCK;
	order = malloc((nr ? nr : 1) * sizeof(*order));
	if (!order) {
		ret = 2;
		goto out;
	}
	for (i = 0; i < nr; i++)
		order[i] = i;
	ktest_shuffle(order, nr, seed);
	for (i = 0; i < nr && !ret; i++)
		ret = kread_block(sfd, mfd, b, (off_t)order[i] * KREAD_BLOCK,
				  eio, c);
out:
	free(order);
	if (sfd >= 0)
		close(sfd);
	if (mfd >= 0)
		close(mfd);
	return ret;
}

static void kread_list_dir(const char *root, const char *dir, char **files,
			   int max, int *nr)
{
	char path[PATH_MAX], rel[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *dp;

	snprintf(path, sizeof(path), "%s%s%s", root, *dir ? "/" : "", dir);
	dp = opendir(path);
	if (!dp)
		return;
	while ((e = readdir(dp)) && *nr < max) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "",
			 e->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, rel);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			kread_list_dir(root, rel, files, max, nr);
		else if (S_ISREG(st.st_mode) && st.st_size)
			files[(*nr)++] = strdup(rel);
	}
	closedir(dp);
}

int ktest_list_files(const char *root, char **files, int max)
{
	int nr = 0;

	kread_list_dir(root, "", files, max, &nr);
	return nr;
}

/* No tree the tests read has more. */
#define KREAD_MAX_FILES	4096

int ktest_read_tree_shuffled(const char *src, const char *mnt,
			     unsigned int seed, enum ktest_eio eio,
			     const int *stop, struct ktest_read_counts *c)
{
	char *files[KREAD_MAX_FILES];
	unsigned int order[KREAD_MAX_FILES];
	int nr, i, ret = 0;
	bool again = false;

	nr = ktest_list_files(src, files, KREAD_MAX_FILES);
	for (i = 0; i < nr; i++)
		order[i] = i;
	do {
		ktest_shuffle(order, nr, &seed);
		for (i = 0; i < nr && !ret; i++) {
			if (again && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
				break;
			snprintf(c->file, sizeof(c->file), "%s", files[order[i]]);
			ret = ktest_read_file_shuffled(src, mnt, files[order[i]],
						       &seed, eio, c);
		}
		again = true;
	} while (!ret && nr && stop && !__atomic_load_n(stop, __ATOMIC_ACQUIRE));
	for (i = 0; i < nr; i++)
		free(files[i]);
	return nr ? ret : 4;
}
