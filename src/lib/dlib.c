// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>

#include "dlib.h"
#include "log.h"

/* pthread_once() passes no argument: the library being loaded. */
static __thread struct dlib *dlib_loading;

static void dlib_load_once(void)
{
	struct dlib *lib = dlib_loading;
	unsigned int i;
	void *handle;

	/* RTLD_NODELETE: the wrappers keep pointers into it for good. */
	handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!handle) {
		log_error("%s (Debian package %s) is needed here and could not be loaded: %s",
			  lib->soname, lib->package, dlerror());
		lib->err = -ENOENT;
		return;
	}
	for (i = 0; i < lib->nr_syms; i++) {
		*lib->syms[i].slot = dlsym(handle, lib->syms[i].name);
		if (!*lib->syms[i].slot) {
			log_error("%s has no %s: install the version of %s that fscached was built with",
				  lib->soname, lib->syms[i].name, lib->package);
			lib->err = -ENOENT;
			return;
		}
	}
	log_debug("loaded %s", lib->soname);
}

int dlib_load(struct dlib *lib)
{
	dlib_loading = lib;
	pthread_once(&lib->once, dlib_load_once);
	return lib->err;
}
