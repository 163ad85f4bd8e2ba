/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fanotify front end's insides, shared by the group and its event loop
 * (group.c), the demand fills (serve.c), the blob files (files.c) and the
 * mounts (mount.c). Private.
 */
#ifndef FSCACHED_FANOTIFY_INT_H
#define FSCACHED_FANOTIFY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "space/culler.h"
#include "space/watermarks.h"
#include "journal.h"
#include "frontend/frontend.h"
#include "lib/list.h"
#include "lib/workqueue.h"

struct blob_cache;
struct json_object;
struct fscached_config;
struct rafs_blob;

/* Events being served at once; the group is read no further beyond this. */
#define FAN_MAX_INFLIGHT	1024
#define FAN_WORKER_BUF_SIZE	(1U << 20)
/* What one read(2) of the group takes: many events of 48 bytes. */
#define FAN_READ_BUF_SIZE	(64U << 10)
#define FAN_FILE_BUCKETS	64
/* Where the blob files live, under the cache directory. */
#define FAN_BLOB_SUBDIR		"fanotify"
/* The mounts, for a daemon that takes the group over. */
#define FAN_STATE_FILE		"fanotify.state"

/*
 * A data blob's cache file: sparse, of the blob's (uncompressed) size,
 * marked FAN_PRE_ACCESS. @fd was opened before the mark, so writes through
 * it raise no event: the blob cache fills through a dup of it.
 */
struct fan_file {
	dev_t dev;
	ino_t ino;
	int fd;
	char *blob_id;
	char *path;
	struct blob_cache *bc;
	unsigned int refs;		/* atomic: the table's and the in-flight events' */
	unsigned int mounts;		/* under files.lock */
	struct list_head node;		/* in a bucket */
};

struct fan_files {
	pthread_mutex_t lock;
	unsigned int count;
	struct list_head buckets[FAN_FILE_BUCKETS];
};

struct fanotify_stats {
	uint64_t events;		/* FAN_PRE_ACCESS read */
	uint64_t present;		/* ... answered at once: nothing to fetch */
	uint64_t fills;			/* ... filled by a worker, then allowed */
	uint64_t fill_bytes;
	uint64_t fill_errors;		/* ... denied with EIO */
	uint64_t unknown_files;		/* events for no blob file of ours: EIO */
	uint64_t denied_truncates;
	uint64_t bad_events;
	uint64_t overflows;		/* FAN_Q_OVERFLOW */
	uint64_t readaheads;
	uint64_t readahead_errors;
	uint64_t response_errors;
	uint64_t mounts;		/* made */
	uint64_t mount_errors;
	uint64_t umounts;
	uint64_t no_room;		/* fills that found no room at first */
	uint64_t own_events;		/* raised by our own writes: allowed */
	uint64_t replayed;		/* a killed daemon's events, answered */
	uint64_t replay_denied;		/* ... that could only get EIO */
};

/* An event a killed daemon had read but not answered (journal.h). */
struct fan_replay {
	int fd;				/* its number in the dead daemon */
	struct fan_slot slot;
};

/* space.c: culling unmounted blob files by the watermarks. */
struct fan_space {
	struct space_culler culler;	/* and the limits it culls by */
	struct {
		uint64_t passes, culled, culled_bytes;
	} stats;
};

struct fanotify_frontend {
	struct frontend base;
	int group_fd;
	int stop_fd;
	bool stopping;
	bool closing;			/* atomic */
	char *cache_dir;
	char *blob_dir;			/* cache_dir/FAN_BLOB_SUBDIR */
	struct factory *factory;
	uint64_t readahead;
	uint64_t fetch_unit;
	struct workqueue wq;
	struct fan_files files;

	pthread_mutex_t inflight_lock;
	pthread_cond_t inflight_done;
	unsigned int inflight;

	/*
	 * The mounts, and those being made (their mountpoints are taken),
	 * and the ids of the blobs being opened for them: a mount waits only
	 * for the blobs it shares, never for another image's backend.
	 */
	pthread_mutex_t mounts_lock;
	struct list_head mounts;
	unsigned int nr_mounts;
	struct list_head pending;	/* struct fan_mount, mounting */
	struct list_head opening;	/* struct fan_opening */
	pthread_cond_t opened;		/* an opening ended */

	struct fanotify_stats stats;
	struct fan_space space;
	unsigned char *buf;		/* FAN_READ_BUF_SIZE */
	pid_t self;			/* events of our own writes come with it */
	struct fan_journal journal;
	char *state_path;		/* the mounts, for the next daemon */
	bool restoring;			/* fan_state_restore(): no truncate */
	struct fan_replay *replay;	/* after a takeover, until run */
	unsigned int nr_replay;
};

static inline struct fanotify_frontend *fan_of(struct frontend *base)
{
	return (struct fanotify_frontend *)base;
}

/* files.c */
void fan_files_init(struct fan_files *t);
void fan_files_destroy(struct fan_files *t);
/* The file of inode @ino of @dev, with a new reference, or NULL. */
struct fan_file *fan_files_lookup(struct fan_files *t, uint64_t dev,
				  uint64_t ino);
/* The file whose inode @fd is, with a new reference, or NULL. */
struct fan_file *fan_files_lookup_fd(struct fan_files *t, int fd);
/* The file of blob @blob_id with a new mount on it, or NULL. */
struct fan_file *fan_files_mount(struct fan_files *t, const char *blob_id);
/* Whether a mount has blob @blob_id's file. */
bool fan_files_has(struct fan_files *t, const char *blob_id);
/* Blob @blob_id being opened for a mount (fe->opening), or NULL. Under mounts_lock. */
struct fan_opening *fan_opening_find(struct fanotify_frontend *fe,
				     const char *blob_id);
bool fan_opening_has(struct fanotify_frontend *fe, const char *blob_id);
/* Inserts @f (the table takes the caller's reference) with one mount. */
void fan_files_insert(struct fan_files *t, struct fan_file *f);
/*
 * Drops a mount of @f; the last one takes it out of the table, and returns
 * true (then the caller unmarks it and puts the table's reference).
 */
bool fan_files_unmount(struct fan_files *t, struct fan_file *f);
unsigned int fan_files_count(struct fan_files *t);
void fan_file_get(struct fan_file *f);
void fan_file_put(struct fan_file *f);

/*
 * Open blob @blob_id's cache file, size it to @bc's blob and mark it:
 * in that order (fanotify-precontent.md section 6). Takes over @bc.
 */
int fan_file_prepare(struct fanotify_frontend *fe, const char *blob_id,
		     struct blob_cache *bc, int fd, struct fan_file **out);

/*
 * Remove a blob file and what the engine keeps beside it (nydus blob meta),
 * under mounts_lock: 1, -ENOENT for none, -EBUSY while a mount has or opens it.
 */
int fan_blob_remove_locked(struct fanotify_frontend *fe, const char *blob_id);
int fan_space_start(struct fanotify_frontend *fe, const struct cache_limits *l);
void fan_space_stop(struct fanotify_frontend *fe);
/* serve.c: one FAN_PRE_ACCESS event, answered now or by a worker. */
void fan_serve_event(struct fanotify_frontend *fe, const struct fan_event *ev);
/* Answer the event on @fd and close @fd. */
void fan_respond(struct fanotify_frontend *fe, int fd, uint32_t response);
/* Answer event @fd without closing it (not ours: a dead daemon's number). */
int fan_answer(struct fanotify_frontend *fe, int fd, uint32_t response);
/* Fill and answer the replayed events, beside the event loop. */
void fan_replay_start(struct fanotify_frontend *fe);

/* A mount the daemon made: its blob files, and what it was made with. */
struct fan_mount {
	char *mountpoint;
	char *source;			/* a bootstrap file, or a blob id */
	char *fs_type;
	struct json_object *config;	/* its configuration, as ConfigV2 */
	bool single;			/* the image is one blob, its own file */
	unsigned int nr_files;
	struct fan_file **files;
	struct list_head node;		/* in fe->mounts or fe->pending */
};

/*
 * A blob file being opened, outside mounts_lock (its backend may stall).
 * Mounts of the same blob wait for it; those with the same backend take
 * its outcome, failure included, rather than try that backend again.
 */
struct fan_opening {
	char *blob_id;
	char *backend;			/* type and settings, as JSON */
	int result;
	bool done;
	char why[256];
	unsigned int refs;		/* the opener's, and each waiter's */
	struct list_head node;		/* in fe->opening until done */
};

struct bootstrap_info;

/* mount.c */
/*
 * What @source is made of: the data blobs of a local bootstrap, or, for a
 * source that is a blob id, that one blob, a whole EROFS image (*@single).
 */
int fan_image_read(const char *source, bool validate, struct bootstrap_info *bi,
		   bool *single, char *why, size_t len);
/* The blob files of @bi into @m (opened, sized, marked, or shared). */
int fan_mount_files(struct fanotify_frontend *fe, struct fan_mount *m,
		    const struct bootstrap_info *bi,
		    const struct fscached_config *cfg, char *why, size_t len);
void fan_mount_free(struct fanotify_frontend *fe, struct fan_mount *m,
		    bool unmark);
/*
 * mount(2) of @m (from @boot when that is not m->source: an inlined
 * bootstrap), then its read-ahead set to @ra_kb (0: left alone) where its
 * bdi can be told apart (mount_sys.c). -errno with what went wrong in @why.
 */
int fan_do_mount(struct fan_mount *m, const char *boot, unsigned int ra_kb,
		 char *why, size_t len);
/* A fetch unit, never below the kernel's default of 128 KiB (then 0). */
static inline unsigned int
fan_mount_readahead_kb(const struct fanotify_frontend *fe)
{
	if (fe->fetch_unit <= (128U << 10))
		return 0;
	return (unsigned int)(fe->fetch_unit >> 10);
}
int fan_mount(struct frontend *base, const struct frontend_mount *m,
	      char *why, size_t len);
int fan_umount(struct frontend *base, const char *mountpoint, char *why,
	       size_t len);
struct json_object *fan_mounts_json(struct frontend *base);
/* On an orderly stop: unmount everything mounted here. */
void fan_umount_all(struct fanotify_frontend *fe);
/* Forget the mounts (without unmounting): a holder keeps the group. */
void fan_mounts_forget(struct fanotify_frontend *fe);

/* The mounts into fe->state_path (mount.c), under mounts_lock. */
void fan_state_save(struct fanotify_frontend *fe);

/* state.c: a takeover: the mounts of fe->state_path, the journal. */
/* Whether a mount the state file names still stands. */
bool fan_state_has_live_mounts(struct fanotify_frontend *fe);
/* After a takeover: serve the mounts the state file names. */
int fan_state_restore(struct fanotify_frontend *fe);
/*
 * After a takeover, before the first read of the group: take the dead
 * daemon's unanswered events from the journal (into fe->replay, or denied
 * with EIO where the journal knows too little), and reset it.
 */
void fan_takeover_events(struct fanotify_frontend *fe);

#endif
