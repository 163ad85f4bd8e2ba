/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_DLIB_H
#define FSCACHED_DLIB_H

#include <pthread.h>

/*
 * A shared library loaded on first use. libcurl, libmicrohttpd and
 * libcrypto with what they pull in are most of an idle daemon's memory
 * and of its start-up (about 40 libraries mapped and relocated), and a
 * daemon that serves local blobs with no API socket needs none of them.
 * Each wrapper module (curl_dl.c, mhd_dl.c, crypto_dl.c) defines the
 * functions that fscached calls, under their own names and prototypes
 * from the library's header, and forwards them here.
 */
struct dlib_sym {
	const char *name;
	void **slot;
};

struct dlib {
	const char *soname;		/* "libcurl.so.4" */
	const char *package;		/* Debian's package, for the error */
	const struct dlib_sym *syms;	/* all resolved, or the library fails */
	unsigned int nr_syms;
	pthread_once_t once;
	int err;
};

#define DLIB_INIT(_soname, _package, _syms) {				\
	.soname = (_soname), .package = (_package), .syms = (_syms),	\
	.nr_syms = sizeof(_syms) / sizeof((_syms)[0]),			\
	.once = PTHREAD_ONCE_INIT,					\
}

/*
 * Map @lib and resolve its symbols, once. 0, or -ENOENT after an error
 * log that names the library and the package to install.
 */
int dlib_load(struct dlib *lib);

#endif
