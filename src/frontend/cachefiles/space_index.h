/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a culling pass may cull: the cache files and volume directories of
 * the cache, kept between passes. Reading a volume costs its 256 fan-out
 * directories (a quarter of a second each in UML), so the cache is read
 * whole only once, at the start; after that a file is looked up by name
 * when its blob is released (cachefiles links a new file in only then),
 * and the files already known are only stat()ed. Private to space.c.
 */
#ifndef FSCACHED_FRONTEND_SPACE_INDEX_H
#define FSCACHED_FRONTEND_SPACE_INDEX_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A cache file: where it is and when it was last used. */
struct cull_candidate {
	time_t used;
	uint64_t bytes;
	char vol[NAME_MAX + 1];
	char fan[8];
	char name[NAME_MAX + 1];
};

/* A volume directory: culled whole once it holds no cache file. */
struct cull_volume {
	char name[NAME_MAX + 1];
	unsigned int files;
};

struct space_index {
	struct cull_candidate *v;
	size_t nr, cap;
	struct cull_volume *vols;
	size_t nr_vols, cap_vols;
	bool scanned;			/* the first full scan is done */
};

/* Read the volumes of the cache, the first time only. */
void space_index_scan(struct space_index *ix, int cache_fd);
/* There is no cache yet: nothing to read, everything comes by release. */
void space_index_empty(struct space_index *ix);
/*
 * Learn where file @name ("D<blob id>") of volume @vol ("Ierofs,<domain>")
 * is: 0 when it is known (now or before), -ENOENT when it is not there.
 */
int space_index_locate(struct space_index *ix, int cache_fd, const char *vol,
		       const char *name);
/*
 * For a culling pass: every known file's use and size again (dropped when
 * it is gone), in least recently used order.
 */
void space_index_prepare(struct space_index *ix, int cache_fd);
/* Forget file @i (culled); its volume counts one file less. */
void space_index_drop_file(struct space_index *ix, size_t i);
void space_index_drop_volume(struct space_index *ix, size_t i);
/* Removes what was dropped. */
void space_index_compact(struct space_index *ix);
void space_index_free(struct space_index *ix);

#endif
