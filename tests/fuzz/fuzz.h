/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fuzz targets: each fuzz_NAME.c defines LLVMFuzzerTestOneInput() over one
 * parser of outside input. `make fuzz` links them with libFuzzer (clang);
 * every build also links them with replay.c, which runs the kept corpus
 * and every crash found so far (tests/fuzz/corpus/NAME, crashes/NAME) as
 * regression tests. A target aborts when an invariant breaks.
 */
#ifndef FSCACHED_FUZZ_H
#define FSCACHED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: libFuzzer and replay both report an abort. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

/* @data as a NUL-terminated string (inputs may hold NULs: cut there). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		for (size_t i = 0; i < size; i++)
			s[i] = data[i];
		s[size] = '\0';
	}
	return s;
}

#endif
