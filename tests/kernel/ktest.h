/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for kernel tests: they run as root inside the user-mode-Linux test
 * kernel (tools/guest-run), start the real daemon, mount EROFS over fscache
 * and compare what the kernel returns with the source trees, byte by byte.
 */
#ifndef FSCACHED_KTEST_H
#define FSCACHED_KTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ktest_daemon {
	pid_t pid;
	const char *frontend;	/* as started: "cachefiles", "fanotify", NULL (auto) */
	char cache_dir[PATH_MAX];
	char log_path[PATH_MAX];
	char stats_path[PATH_MAX];
	char api_sock[PATH_MAX];	/* its --apisock (one is always given) */
};

/* Paths from the environment, with the defaults of a checkout. */
const char *ktest_daemon_bin(void);
const char *ktest_images(void);		/* $TEST_IMAGES */
/*
 * Whether the running kernel is older than MAJOR.MINOR; @release gets its
 * version (uname -r) for the skip message.
 */
bool ktest_kernel_before(int major, int minor, char *release, size_t len);
/*
 * In a test or fixture setup: skip, naming the running kernel, where it is
 * older than MAJOR.MINOR; @why says what it lacks.
 */
#define KTEST_SKIP_BEFORE(major, minor, why)				\
	do {								\
		char _release[128];					\
									\
		if (ktest_kernel_before(major, minor, _release,		\
					sizeof(_release)))		\
			SKIP(return, "kernel %s " why, _release);	\
	} while (0)
/* cachefiles "restore" (failover, kill -9 without losing the mounts): 6.8+ */
#define KTEST_SKIP_UNLESS_FAILOVER()					\
	KTEST_SKIP_BEFORE(6, 8, "has no cachefiles restore (failover needs 6.8+)")
/* EROFS reads compressed inodes over fscache: 6.9+ (EOPNOTSUPP before) */
#define KTEST_SKIP_UNLESS_COMPRESSED()					\
	KTEST_SKIP_BEFORE(6, 9, "reads no compressed inode over fscache (needs 6.9+)")
/*
 * Whether cachefiles on-demand mode cannot be bound here (no /dev/cachefiles,
 * or a kernel built without CONFIG_CACHEFILES_ONDEMAND, as Debian's are):
 * fills @why for the skip message. Probed once per process by binding a
 * throwaway cache in ktest_scratch().
 */
bool ktest_cachefiles_unusable(char *why, size_t len);
/*
 * Whether the fanotify front end cannot run here (not root, no
 * FAN_PRE_ACCESS, a scratch directory that takes no pre-content mark):
 * fills @why for the skip message.
 */
bool ktest_fanotify_unusable(char *why, size_t len);
/*
 * The front end the front-end-neutral tests drive: $FSCACHED_TEST_FRONTEND
 * (cachefiles or fanotify), or by default the first of the two that can run
 * here. NULL, with @why filled for the skip, where that one cannot. Once
 * picked, every daemon this process starts is given it (--frontend), and
 * ktest_image_mount() mounts the way it does.
 */
const char *ktest_frontend(char *why, size_t len);
#define KTEST_PICK_FRONTEND(fe)						\
	do {								\
		char _why[512];						\
									\
		(fe) = ktest_frontend(_why, sizeof(_why));		\
		if (!(fe))						\
			SKIP(return, "%s", _why);			\
	} while (0)
/* In a test or fixture setup: skip where the cachefiles front end cannot run. */
#define KTEST_SKIP_UNLESS_CACHEFILES()					\
	do {								\
		char _why[256];						\
									\
		if (ktest_cachefiles_unusable(_why, sizeof(_why)))	\
			SKIP(return, "%s", _why);			\
	} while (0)
const char *ktest_scratch(void);	/* an ext4 dir: $GUEST_DISK */

/* A fresh directory under ktest_scratch(), named after @what. */
int ktest_mkdtemp(const char *what, char *out, size_t len);

/*
 * Start fscached serving blobs from @blob_dir with a fresh cache directory;
 * returns once it logs that it is ready (or -ETIMEDOUT, or -ECHILD when it
 * exited). @extra is a NULL-terminated list of more arguments, may be NULL.
 */
int ktest_daemon_start(struct ktest_daemon *d, const char *blob_dir,
		       const char *const *extra);
/* The same with a given cache directory (a restart keeps its cache). */
int ktest_daemon_start_in(struct ktest_daemon *d, const char *cache,
			  const char *blob_dir, const char *const *extra);
/* Same, but with a given cache directory and without waiting for ready. */
int ktest_daemon_spawn(struct ktest_daemon *d, const char *cache_dir,
		       const char *blob_dir, const char *const *extra);
/* How a service manager would start it (ktest_fdstore). */
struct ktest_spawn {
	const char *notify_socket;	/* $NOTIFY_SOCKET, may be NULL */
	int listen_fd;			/* passed as fd 3, "cachefiles"; or -1 */
};
int ktest_daemon_spawn_with(struct ktest_daemon *d, const char *cache_dir,
			    const char *blob_dir, const char *const *extra,
			    const struct ktest_spawn *how);
/* Until it logs that it is ready: 0, -ETIMEDOUT or -ECHILD. */
int ktest_daemon_wait_ready(struct ktest_daemon *d);
/* Waits up to @ms for the daemon to exit; returns its exit status or -1. */
int ktest_daemon_wait(struct ktest_daemon *d, unsigned int ms);
/* SIGTERM and wait: returns the exit status (0 on a clean shutdown). */
int ktest_daemon_stop(struct ktest_daemon *d);
bool ktest_daemon_alive(struct ktest_daemon *d);
/* Print the daemon's log as TAP comments. */
void ktest_daemon_dump_log(struct ktest_daemon *d);
bool ktest_daemon_log_contains(struct ktest_daemon *d, const char *needle);
/* A counter from the daemon's stats, e.g. "factory.total.backend_reads". */
int ktest_daemon_counter(struct ktest_daemon *d, const char *path,
			 uint64_t *value);

/* mount(2) erofs over fscache; returns 0 or -errno. */
int ktest_mount(const char *fsid, const char *domain_id, const char *mnt);
int ktest_umount(const char *mnt);
/*
 * The fanotify front end's mounts: POST /api/v1/mount of bootstrap
 * @source on @mnt through the daemon's API socket @sock, with @config (a
 * ConfigV2 JSON text, or NULL for the daemon's own). Return the HTTP
 * status (204 when done).
 */
int ktest_api_mount(const char *sock, const char *mnt, const char *source,
		    const char *fs_type, const char *config);
int ktest_api_umount(const char *sock, const char *mnt);

/*
 * An image as either front end mounts it. cachefiles mounts EROFS by
 * fsid (and domain), after binding it through PUT /api/v2/blobs when it has
 * a @config; fanotify mounts it through POST /api/v1/mount: @bootstrap when
 * it has one, else @fsid as the blob id of a whole image of the daemon's
 * backend. On fanotify @domain means nothing: blob files are shared by id.
 */
struct ktest_image {
	const char *fsid;
	const char *domain;	/* cachefiles' domain_id, or NULL */
	const char *bootstrap;	/* the local bootstrap, or NULL for a whole image */
	const char *config;	/* a ConfigV2 JSON text, or NULL for the daemon's */
};
/*
 * Mount @im on @mnt through @d's front end: 0 or -errno (-EIO: refused).
 * On cachefiles an image bound already (a remount) is not bound again.
 */
int ktest_image_mount(struct ktest_daemon *d, const struct ktest_image *im,
		      const char *mnt);
/*
 * The same for image @fsid of TEST_IMAGES/blobs: a whole image, or a
 * bootstrap of the nydus layout (fanotify mounts it from there), served by
 * @d's backend or by ConfigV2 @config (may be NULL).
 */
int ktest_mount_on(struct ktest_daemon *d, const char *fsid,
		   const char *domain, const char *mnt);
int ktest_mount_config(struct ktest_daemon *d, const char *fsid,
		       const char *domain, const char *config, const char *mnt);
int ktest_image_umount(struct ktest_daemon *d, const char *mnt);
/*
 * The "main" tree as an image read lazily: the whole image "plain", or, on
 * fanotify before 7.3 (which fills a whole image before its mount), its
 * nydus layout "main-boot", a local bootstrap with data blob "main-data".
 * @data_blob, if not NULL, gets the blob its file data is in.
 */
const char *ktest_lazy_main(const struct ktest_daemon *d,
			    const char **data_blob);
bool ktest_on_fanotify(const struct ktest_daemon *d);
/*
 * A front end's counter of a kind both have, by its cachefiles name:
 * "reads" (demand reads filled: fanotify's "fills"), "read_requests"
 * (demand reads that needed a fill: fills + fill_errors), "read_errors"
 * ("fill_errors"), "open_errors" ("mount_errors"); any other name as it is.
 */
int ktest_frontend_counter(struct ktest_daemon *d, const char *name,
			   uint64_t *value);
/*
 * Drop the page cache (echo 3 > drop_caches): 0, also where there is no
 * such file to write; -errno when the write failed.
 */
int ktest_drop_caches(void);

struct ktest_tree_stats {
	unsigned long files, dirs, symlinks, hardlinks, xattrs, others;
	unsigned long long bytes;
};

/*
 * Compare the tree at @mnt with the source at @src: types, modes, sizes,
 * link counts, symlink targets, user xattrs and the sha256 of every file.
 * Returns 0, or -1 with the first difference in @err.
 */
int ktest_compare_trees(const char *src, const char *mnt,
			struct ktest_tree_stats *st, char *err, size_t errlen);
int ktest_sha256_file(const char *path, unsigned char md[32]);
/* ktest_compare_trees() of images/src/@tree and @mnt, logged as TAP. */
int ktest_compare_image(const char *tree, const char *mnt,
			struct ktest_tree_stats *st);
#define KTEST_MAX_READERS	16
/*
 * @readers processes (at most KTEST_MAX_READERS) compare the whole tree
 * images/src/@tree with @mnt at once; how many failed (0: all agree).
 */
int ktest_read_concurrently(const char *tree, const char *mnt,
			    unsigned int readers);
/* Shuffle @v[0..n) in place, with rand_r(@seed): a reproducible order. */
void ktest_shuffle(unsigned int *v, unsigned int n, unsigned int *seed);

/* What an EIO is to a reader (kread.c). */
enum ktest_eio {
	KTEST_EIO_FAILS,	/* an error, as any other */
	KTEST_EIO_RETRIED,	/* for up to 5 s: a killed daemon's reads */
	KTEST_EIO_ANSWERS,	/* the answer (no room): counted, not retried */
};
/* A reader's counts, in memory shared with the test (atomic). */
struct ktest_read_counts {
	uint64_t blocks;	/* blocks read and compared */
	uint64_t eio;		/* reads that got EIO */
	uint64_t retries;	/* ... and were tried again */
	uint64_t wrong;		/* blocks with other bytes than the source's */
	int64_t off;		/* the block being read; -1 between reads */
	char file[256];		/* the file being read (a tree's reader) */
};
/*
 * Every 4 KiB block of @mnt/@rel in a random order (rand_r(@seed)), with no
 * read-ahead, compared with @src/@rel. 0, 2 for a read error, 3 for wrong
 * bytes (said on stderr, zeros counted).
 */
int ktest_read_file_shuffled(const char *src, const char *mnt, const char *rel,
			     unsigned int *seed, enum ktest_eio eio,
			     struct ktest_read_counts *c);
/* The non-empty regular files under @root, relative to it (strdup()ed). */
int ktest_list_files(const char *root, char **files, int max);
/*
 * Every such file of @src read through @mnt as ktest_read_file_shuffled()
 * does, in a shuffled order; with @stop, the whole tree once and then again
 * in another order until *@stop is set (a fast machine would end before the
 * kills do). 0 or the first failure's status; 4 when @src has no file.
 */
int ktest_read_tree_shuffled(const char *src, const char *mnt,
			     unsigned int seed, enum ktest_eio eio,
			     const int *stop, struct ktest_read_counts *c);
/*
 * Read @path to its end and throw the bytes away: 0, or -errno of the
 * read (or open) that failed.
 */
int ktest_read_all(const char *path);
/* The same for its first page only: a first read, which starts prefetch. */
int ktest_read_page(const char *path);
/* How many paths glob(3) pattern @pattern matches (dot names never). */
int ktest_count_paths(const char *pattern);
/* Whether the nydus-layout image (bootstrap + data blob) was built. */
bool ktest_have_chunked(void);
/* A --config for a localfs backend at @blobs with prefetch on. */
int ktest_write_prefetch_config(const char *path, const char *blobs);
/* Run @cmd; its output (up to @size bytes) in @out; returns its status. */
int ktest_run_capture(const char *cmd, char *out, size_t size);

#endif
