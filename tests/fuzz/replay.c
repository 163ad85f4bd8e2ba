// SPDX-License-Identifier: GPL-2.0
/*
 * Runs a fuzz target over its kept inputs, without libFuzzer: the corpus
 * (tests/fuzz/corpus/NAME) and every crash found so far
 * (tests/fuzz/crashes/NAME), or the files and directories given. A crash
 * or a broken invariant kills the run, so the harness reports it. TAP out.
 */
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
	static uint8_t buf[1 << 20];
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

/* Every file of @dir (a missing dir has none); returns the count or -1. */
static int replay_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	int n = 0;
	DIR *dp;

	if (stat(dir, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return replay_file(dir) ? -1 : 1;
	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (replay_file(path)) {
			closedir(dp);
			return -1;
		}
		n++;
	}
	closedir(dp);
	return n;
}

int main(int argc, char **argv)
{
	const char *defaults[] = { "tests/fuzz/corpus/" FUZZ_NAME,
				   "tests/fuzz/crashes/" FUZZ_NAME };
	const char *const *dirs = defaults;
	int nr = 2, i, n, failed = 0;

	if (argc > 1) {
		dirs = (const char *const *)argv + 1;
		nr = argc - 1;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("TAP version 13\n1..%d\n", nr);
	for (i = 0; i < nr; i++) {
		n = replay_dir(dirs[i]);
		if (n < 0)
			failed++;
		printf("%sok %d - %s: %s: %d inputs\n", n < 0 ? "not " : "",
		       i + 1, FUZZ_NAME, dirs[i], n < 0 ? 0 : n);
		fflush(stdout);
	}
	printf("%d passed, %d failed, 0 skipped\n", nr - failed, failed);
	return failed ? 1 : 0;
}
