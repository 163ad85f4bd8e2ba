// SPDX-License-Identifier: GPL-2.0
/*
 * A whole bootstrap, as PUT /api/v2/blobs and --bootstrap read it from
 * metadata_path: the RAFS head and blob table, the chunk table's digests,
 * and the prefetch table with the directories it names, walked down. The
 * file is named like a blob id, so that a data blob with its bootstrap
 * inlined is taken apart too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/bootstrap.h"
#include "fuzz.h"
#include "lib/log.h"

#define BLOB_NAME "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int memfd = -1;
static char dir[32], path[128];

static void remove_link(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char target[64];

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	memfd = memfd_create("bootstrap", MFD_CLOEXEC);
	snprintf(dir, sizeof(dir), "/tmp/fuzz-bootstrap-XXXXXX");
	if (memfd < 0 || !mkdtemp(dir))
		abort();
	snprintf(target, sizeof(target), "/proc/self/fd/%d", memfd);
	snprintf(path, sizeof(path), "%s/" BLOB_NAME, dir);
	if (symlink(target, path))
		abort();
	atexit(remove_link);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bootstrap_info bi;
	char err[512];
	unsigned int i, j;

	if (memfd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	if (bootstrap_read(path, true, &bi, err, sizeof(err)))
		return 0;
	for (i = 0; bi.rafs && bi.prefetch && i < bi.nr_blobs; i++) {
		for (j = 0; j < bi.nr_prefetch[i]; j++) {
			const struct blob_range *r = &bi.prefetch[i][j];

			FUZZ_CHECK(r->off % 4096 == 0 && r->len);
			FUZZ_CHECK(r->off + r->len <= bi.rafs[i].uncompressed_size);
			FUZZ_CHECK(!j || r->off > bi.prefetch[i][j - 1].off +
						  bi.prefetch[i][j - 1].len);
		}
	}
	bootstrap_info_free(&bi);
	return 0;
}
