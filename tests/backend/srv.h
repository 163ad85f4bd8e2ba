/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend tests against real servers: start one with tests/servers/<kind>,
 * read what it wrote to WORKDIR/env, stop it at the end.
 */
#ifndef FSCACHED_TEST_SRV_H
#define FSCACHED_TEST_SRV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct backend;

#define SRV_MAX_ENV	32

struct srv {
	char kind[32];
	char dir[PATH_MAX];
	unsigned int nr_env;
	char *keys[SRV_MAX_ENV];
	char *values[SRV_MAX_ENV];
};

/*
 * Start @kind with @args (a shell word list) in a fresh WORKDIR. Returns 0,
 * 77 when the server's package is missing (skip), or -1.
 */
int srv_start(struct srv *s, const char *kind, const char *args);
void srv_stop(struct srv *s);
/* A value from the server's env, "" when absent. */
const char *srv_env(const struct srv *s, const char *key);
/* Run "tests/servers/<kind> <verb> WORKDIR <args>", capturing stdout. */
int srv_run(const struct srv *s, const char *verb, const char *args,
	    char *out, size_t outlen);

/* A scratch directory for the test's files. */
int test_tmpdir(char *out, size_t len);
/* A file of @size pseudo-random bytes (seeded by @seed) at @path. */
int test_make_blob(const char *path, uint64_t size, unsigned int seed);
/* The sha256 hex of a file, into @hex (65 bytes). */
int test_sha256_file(const char *path, char *hex);

/* Create a backend from a JSON text of its type-specific object. */
int test_backend(const char *type, const char *json, struct backend **out,
		 char *err, size_t errlen);
/*
 * Read [@off, @off + @len) of @id through @be and compare with @path.
 * Returns 0 if equal, -errno from the backend, or 1 when the bytes differ.
 */
int test_backend_compare(struct backend *be, const char *id, const char *path,
			 uint64_t off, uint64_t len);
/* Read the whole blob through @be in @chunk sized pieces and compare. */
int test_backend_compare_all(struct backend *be, const char *id,
			     const char *path, size_t chunk);

#endif
