// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include "watermarks.h"

void space_free_percent(const struct statvfs *sv, unsigned int *blocks,
			unsigned int *files)
{
	*blocks = sv->f_blocks ? sv->f_bavail * 100 / sv->f_blocks : 100;
	/* Some filesystems (btrfs) have no fixed inode count. */
	*files = sv->f_files ? sv->f_favail * 100 / sv->f_files : 100;
}

int space_free(const char *dir, unsigned int *blocks, unsigned int *files)
{
	struct statvfs sv;

	if (statvfs(dir, &sv))
		return -errno;
	space_free_percent(&sv, blocks, files);
	return 0;
}

bool space_low(const struct cache_limits *l, unsigned int blocks,
	       unsigned int files)
{
	return blocks < l->bcull || files < l->fcull;
}

void space_shortfall(const struct statvfs *sv, const struct cache_limits *l,
		     struct shortfall *need)
{
	uint64_t want;

	want = (uint64_t)sv->f_blocks * l->brun / 100;
	need->bytes = want > sv->f_bavail ?
		      (want - sv->f_bavail) * (uint64_t)sv->f_frsize : 0;
	want = (uint64_t)sv->f_files * l->frun / 100;
	need->files = sv->f_files && want > sv->f_favail ?
		      want - sv->f_favail : 0;
}

int space_check(const char *dir, const struct cache_limits *l,
		unsigned int *blocks, unsigned int *files,
		struct shortfall *need)
{
	struct statvfs sv;

	if (statvfs(dir, &sv))
		return -errno;
	space_free_percent(&sv, blocks, files);
	if (!space_low(l, *blocks, *files))
		return 0;
	space_shortfall(&sv, l, need);
	return 1;
}
