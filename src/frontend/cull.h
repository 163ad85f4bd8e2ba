/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Removing cache files through the kernel: "cull <name>" buries a file of
 * the cache (in the writer's working directory) in the graveyard unless the
 * kernel still uses it; we then empty the graveyard, as cachefilesd does.
 */
#ifndef FSCACHED_FRONTEND_CULL_H
#define FSCACHED_FRONTEND_CULL_H

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
/* Delete what the graveyard holds; returns the entries removed. */
int cachefiles_reap_graveyard(const char *cache_dir);

#endif
