/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cachefilesd's space limits read against a cache filesystem, for every
 * front end's culling: how much is free, whether that is low, and what
 * culling must free to get back to the run limits.
 */
#ifndef FSCACHED_SPACE_WATERMARKS_H
#define FSCACHED_SPACE_WATERMARKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/statvfs.h>

/*
 * cachefilesd's space limits, in percent of the cache filesystem's blocks
 * and files: culling starts below *cull and goes on until *run are free;
 * below *stop the kernel refuses to write. @off: no culling, the kernel's
 * own limits.
 */
struct cache_limits {
	bool off;
	unsigned int brun, bcull, bstop;
	unsigned int frun, fcull, fstop;
};

#define CACHE_LIMITS_DEFAULT	{ false, 10, 7, 3, 10, 7, 3 }

/* Free blocks and files of @sv, in percent of the filesystem's. */
void space_free_percent(const struct statvfs *sv, unsigned int *blocks,
			unsigned int *files);
/* The same for the filesystem of @dir: 0 or -errno. */
int space_free(const char *dir, unsigned int *blocks, unsigned int *files);
/* Below bcull% free blocks or fcull% free files. */
bool space_low(const struct cache_limits *l, unsigned int blocks,
	       unsigned int files);

/*
 * What culling must free to get back to brun% of the blocks and frun% of
 * the files (culled files are counted as they go).
 */
struct shortfall {
	uint64_t bytes;
	uint64_t files;
};

void space_shortfall(const struct statvfs *sv, const struct cache_limits *l,
		     struct shortfall *need);

/*
 * The filesystem of @dir against @l: 1 when below a cull limit, with the
 * free percentages in @blocks and @files and what to free in @need; 0 when
 * not; -errno when statvfs fails.
 */
int space_check(const char *dir, const struct cache_limits *l,
		unsigned int *blocks, unsigned int *files,
		struct shortfall *need);

#endif
