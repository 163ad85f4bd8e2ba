/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Removing cache files through the kernel: "cull <name>" buries a file of
 * the cache (in the writer's working directory) in the graveyard unless the
 * kernel still uses it; we then empty the graveyard, as cachefilesd does.
 */
#ifndef FSCACHED_FRONTEND_CULL_H
#define FSCACHED_FRONTEND_CULL_H

/*
 * cachefiles' layout: <cache dir>/cache/I<volume key>/@<xx>/D<key>, with a
 * volume key "erofs,<domain>". Each walker calls @fn for every volume
 * (fan-out) directory, with an fd it closes afterwards; a nonzero return
 * from @fn stops the walk and is returned.
 */
typedef int (*cachefiles_dir_fn)(int dir_fd, const char *name, void *arg);
/* The volumes of the cache/ directory @cache_fd (which stays the caller's). */
int cachefiles_for_each_volume(int cache_fd, cachefiles_dir_fn fn, void *arg);
/* The fan-out directories of the volume @vol_fd (taken, and closed). */
int cachefiles_for_each_fan(int vol_fd, cachefiles_dir_fn fn, void *arg);

/*
 * Cull the cache files of blob @blob_id in every volume (domain) of the
 * cache at @cache_dir. Returns how many were culled, -ENOENT when there
 * was none, -EBUSY when one is still in use (those not in use are culled).
 */
int cachefiles_cull_blob(int dev_fd, const char *cache_dir,
			 const char *blob_id);
/*
 * Cull @name in the directory @dir_fd, from a short-lived thread with a
 * working directory of its own (unshare(CLONE_FS)): no other thread's
 * directory moves.
 */
int cachefiles_cull_at(int dev_fd, int dir_fd, const char *name);
/*
 * After cache file @name of the cache at @cache_dir is culled: what the
 * engine keeps beside it (a nydus blob's meta copies) goes with it.
 */
void cachefiles_culled(const char *cache_dir, const char *name);
/* Delete what the graveyard holds; returns the entries removed. */
int cachefiles_reap_graveyard(const char *cache_dir);

#endif
