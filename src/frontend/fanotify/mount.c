// SPDX-License-Identifier: GPL-2.0
/*
 * Mounts the daemon makes (nydusd's /api/v1/mount): the bootstrap stays a
 * local file and is the primary device; each data blob is a sparse blob
 * file, marked before mount(2) opens it as a device= (the mount's own open
 * must come after the mark, or its reads raise no event and see holes).
 * The mount(2) call itself is mount_sys.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/factory.h"
#include "cache/serve.h"
#include "config/config.h"
#include "fanotify_int.h"
#include "image/bootstrap.h"
#include "image/bootstrap_inline.h"
#include "lib/blob_id.h"
#include "lib/compiler.h"
#include "lib/io_buf.h"
#include "lib/log.h"
#include "uapi/fanotify_hsm.h"


/* The mounts, for a daemon that takes the group over (state.c reads it). */
void fan_state_save(struct fanotify_frontend *fe)
{
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct fan_mount *m;
	char tmp[4096];

	list_for_each_entry(m, &fe->mounts, node) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "mountpoint", json_object_new_string(m->mountpoint));
		json_object_object_add(o, "source", json_object_new_string(m->source));
		json_object_object_add(o, "fs_type", json_object_new_string(m->fs_type));
		json_object_object_add(o, "config", json_object_get(m->config));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "mounts", arr);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fe->state_path);
	if (json_object_to_file_ext(tmp, root, JSON_C_TO_STRING_PLAIN) ||
	    rename(tmp, fe->state_path))
		log_error("cannot write %s: %s; a daemon that takes over would not know the mounts",
			  fe->state_path, strerror(errno));
	json_object_put(root);
}

static struct fan_mount *fan_mount_find(struct list_head *list,
					const char *mountpoint)
{
	struct fan_mount *m;

	list_for_each_entry(m, list, node)
		if (!strcmp(m->mountpoint, mountpoint))
			return m;
	return NULL;
}

/* @unmark: the mount is gone (not just forgotten while a holder keeps it). */
static void fan_file_unmount(struct fanotify_frontend *fe, struct fan_file *f,
			     bool unmark)
{
	if (!fan_files_unmount(&fe->files, f))
		return;
	if (unmark)
		fanotify_mark(fe->group_fd, FAN_MARK_REMOVE, FAN_PRE_ACCESS,
			      f->fd, NULL);
	fan_file_put(f);
}

void fan_mount_free(struct fanotify_frontend *fe, struct fan_mount *m,
		    bool unmark)
{
	unsigned int i;

	for (i = 0; i < m->nr_files; i++)
		if (m->files[i])
			fan_file_unmount(fe, m->files[i], unmark);
	json_object_put(m->config);
	free(m->files);
	free(m->mountpoint);
	free(m->source);
	free(m->fs_type);
	free(m);
}

/* A new blob file for data blob @index of @bi, served with @cfg. */
static int fan_blob_open(struct fanotify_frontend *fe,
			 const struct bootstrap_info *bi, unsigned int index,
			 const struct fscached_config *cfg,
			 struct fan_file **out, char *why, size_t len)
{
	const char *blob_id = bi->tags[index];
	struct blob_source src = { 0 };
	struct blob_info info = {
		.id = blob_id,
		.domain = FAN_BLOB_SUBDIR,
		.fetch_unit = fe->fetch_unit,
		.stage_dir = fe->cache_dir,
	};
	struct blob_cache *bc;
	char path[4096];
	int fd, ret;

	if (!blob_id_valid(blob_id, strlen(blob_id))) {
		snprintf(why, len, "data blob %u of the image has no usable id ('%s')",
			 index, blob_id);
		return -EINVAL;
	}
	src.cfg = config_dup(cfg);
	if (!src.cfg)
		return -ENOMEM;
	ret = bootstrap_blob_source(bi, blob_id, &src);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", fe->blob_dir, blob_id);
	/* Opened before the mark: our fills through it raise no event. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "cannot create blob file %s: %s", path,
			 strerror(errno));
		blob_source_release(&src);
		return ret;
	}
	info.cache_fd = fd;
	info.rafs = src.is_rafs ? &src.rafs : NULL;
	info.chunk_digests = src.digests;
	info.nr_chunk_digests = src.nr_digests;
	info.prefetch = src.prefetch;
	info.nr_prefetch = src.nr_prefetch;
	ret = factory_new_blob_cache(fe->factory, src.cfg, &info, &bc);
	blob_source_release(&src);
	if (ret) {
		snprintf(why, len, "data blob '%s': %s", blob_id,
			 ret == -ENOENT ? "not found in the backend"
					: strerror(-ret));
		close(fd);
		return ret;
	}
	ret = fan_file_prepare(fe, blob_id, bc, fd, out);
	if (ret)
		snprintf(why, len, "cannot prepare blob file %s: %s (the log says more)",
			 path, strerror(-ret));
	return ret;
}

/* What a fetch of the blob depends on: the backend's type and settings. */
static char *fan_backend_key(const struct fscached_config *cfg)
{
	char *key;

	if (asprintf(&key, "%s %s", cfg->backend_type,
		     cfg->backend ? json_object_to_json_string_ext(cfg->backend,
						JSON_C_TO_STRING_PLAIN) : "") < 0)
		return NULL;
	return key;
}

static void fan_opening_put(struct fan_opening *op)
{
	if (--op->refs)
		return;
	free(op->blob_id);
	free(op->backend);
	free(op);
}

/*
 * Waits, under mounts_lock, while blob @blob_id is being opened: 0 once
 * nobody opens it, or the error of an opening through the same @backend.
 */
static int fan_opening_wait(struct fanotify_frontend *fe, const char *blob_id,
			    const char *backend, char *why, size_t len)
{
	struct fan_opening *op;
	int ret;

	while ((op = fan_opening_find(fe, blob_id))) {
		if (strcmp(op->backend, backend)) {
			pthread_cond_wait(&fe->opened, &fe->mounts_lock);
			continue;
		}
		op->refs++;
		while (!op->done)
			pthread_cond_wait(&fe->opened, &fe->mounts_lock);
		ret = op->result;
		if (ret)
			snprintf(why, len, "%s (opened meanwhile for another mount)",
				 op->why);
		fan_opening_put(op);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The file of data blob @index of @bi: another mount's, or opened afresh
 * without mounts_lock, so that a stalled backend holds up only the mounts
 * of the same blob.
 */
static int fan_mount_file(struct fanotify_frontend *fe,
			  const struct bootstrap_info *bi, unsigned int index,
			  const struct fscached_config *cfg,
			  struct fan_file **out, char *why, size_t len)
{
	const char *blob_id = bi->tags[index];
	struct fan_opening *op;
	char *backend;
	int ret;

	backend = fan_backend_key(cfg);
	op = calloc(1, sizeof(*op));
	if (!backend || !op) {
		free(backend);
		free(op);
		return -ENOMEM;
	}
	pthread_mutex_lock(&fe->mounts_lock);
	ret = fan_opening_wait(fe, blob_id, backend, why, len);
	*out = ret ? NULL : fan_files_mount(&fe->files, blob_id);
	if (ret || *out) {
		pthread_mutex_unlock(&fe->mounts_lock);
		free(backend);
		free(op);
		return ret;
	}
	op->blob_id = strdup(blob_id);
	op->backend = backend;
	op->refs = 1;
	if (!op->blob_id) {
		pthread_mutex_unlock(&fe->mounts_lock);
		fan_opening_put(op);
		return -ENOMEM;
	}
	list_add_tail(&op->node, &fe->opening);
	pthread_mutex_unlock(&fe->mounts_lock);

	ret = fan_blob_open(fe, bi, index, cfg, out, why, len);

	pthread_mutex_lock(&fe->mounts_lock);
	if (!ret)
		fan_files_insert(&fe->files, *out);
	op->result = ret;
	snprintf(op->why, sizeof(op->why), "%s", ret ? why : "");
	op->done = true;
	list_del(&op->node);
	pthread_cond_broadcast(&fe->opened);
	fan_opening_put(op);
	pthread_mutex_unlock(&fe->mounts_lock);
	return ret;
}

/* The blob files of @bi, shared with other mounts where they exist. */
int fan_mount_files(struct fanotify_frontend *fe, struct fan_mount *m,
			   const struct bootstrap_info *bi,
			   const struct fscached_config *cfg,
			   char *why, size_t len)
{
	unsigned int i;
	int ret;

	m->files = calloc(bi->nr_blobs ? bi->nr_blobs : 1, sizeof(*m->files));
	if (!m->files)
		return -ENOMEM;
	for (i = 0; i < bi->nr_blobs; i++) {
		ret = fan_mount_file(fe, bi, i, cfg, &m->files[i], why, len);
		if (ret)
			return ret;
		m->nr_files = i + 1;
	}
	return 0;
}

/* A source with no '/' that is a blob id: a whole image of the backend. */
static bool fan_source_is_blob(const char *source)
{
	return source && !strchr(source, '/') &&
	       blob_id_valid(source, strlen(source));
}

int fan_image_read(const char *source, bool validate, struct bootstrap_info *bi,
		   bool *single, char *why, size_t len)
{
	*single = fan_source_is_blob(source);
	if (!*single)
		return bootstrap_read(source, validate, bi, why, len);
	memset(bi, 0, sizeof(*bi));
	if (strlen(source) >= sizeof(bi->tags[0])) {
		snprintf(why, len, "blob id %s is longer than %zu characters",
			 source, sizeof(bi->tags[0]) - 1);
		return -ENAMETOOLONG;
	}
	bi->tags = calloc(1, sizeof(*bi->tags));
	if (!bi->tags)
		return -ENOMEM;
	snprintf(bi->tags[0], sizeof(bi->tags[0]), "%s", source);
	bi->nr_blobs = 1;
	return 0;
}

/*
 * Before 7.3 file-backed EROFS reads its metadata from the backing file's
 * page cache, past the pre-content hook: a hole there reads as zeros. The
 * whole image is filled before the mount then, since which blocks are
 * metadata only the image can tell; from 7.3 metadata reads raise events
 * like data reads, and the image fills as it is read.
 */
static bool fan_kernel_hooks_metadata(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 7 || (major == 7 && minor >= 3);
}

#define FAN_PREFILL_STEP	(4ULL << 20)

static int fan_prefill_metadata(struct fanotify_frontend *fe,
				struct fan_file *f, char *why, size_t len)
{
	uint64_t off, size = f->bc->size;
	struct io_buf buf;
	int ret;

	if (fan_kernel_hooks_metadata())
		return 0;
	log_info("blob %s: this kernel reads EROFS metadata past fanotify's hook (before 7.3): filling the whole image (%llu bytes) before its mount",
		 f->blob_id, (unsigned long long)size);
	ret = io_buf_init(&buf, FAN_PREFILL_STEP);
	if (ret)
		return ret;
	io_buf_populate(&buf);
	for (off = 0; !ret && off < size; off += FAN_PREFILL_STEP)
		ret = serve_fill(f->bc, off, MIN(FAN_PREFILL_STEP, size - off),
				 &buf, &fe->space.culler, &fe->stats.no_room);
	io_buf_release(&buf);
	if (ret)
		snprintf(why, len, "filling image blob %s before its mount failed: %s",
			 f->blob_id, strerror(-ret));
	return ret;
}

static int fan_check_request(const struct frontend_mount *req, char *why,
			     size_t len)
{
	struct stat st;

	if (!req->mountpoint || req->mountpoint[0] != '/') {
		snprintf(why, len, "the mountpoint must be an absolute path");
		return -EINVAL;
	}
	if (stat(req->mountpoint, &st)) {
		snprintf(why, len, "mountpoint %s: %s%s", req->mountpoint,
			 strerror(errno), errno == ENOENT ? " (create it first)" : "");
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "mountpoint %s is not a directory",
			 req->mountpoint);
		return -ENOENT;
	}
	if (fan_source_is_blob(req->source)) {
		if (req->fs_type && strcmp(req->fs_type, "erofs")) {
			snprintf(why, len, "source %s is a blob id: a whole EROFS image, so fs_type must be erofs, not %s",
				 req->source, req->fs_type);
			return -EINVAL;
		}
	} else if (!req->source || stat(req->source, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "source %s is not a file: it must be the image's local bootstrap, or the blob id of a whole EROFS image",
			 req->source ? req->source : "(none)");
		return -ENOENT;
	}
	if (req->fs_type && strcmp(req->fs_type, "rafs") &&
	    strcmp(req->fs_type, "erofs")) {
		snprintf(why, len, "fs_type '%s' is neither rafs nor erofs",
			 req->fs_type);
		return -EINVAL;
	}
	if (!req->cfg || strcmp(req->cfg->cache_type, "fscache")) {
		snprintf(why, len, "cache type '%s' cannot fill blob files; use \"fscache\"",
			 req->cfg ? req->cfg->cache_type : "(none)");
		return -EOPNOTSUPP;
	}
	return 0;
}

int fan_mount(struct frontend *base, const struct frontend_mount *req,
	      char *why, size_t len)
{
	struct fanotify_frontend *fe = fan_of(base);
	struct bootstrap_info bi = { 0 };
	struct fan_mount *m = NULL;
	char boot[PATH_MAX];
	bool inlined = false;
	int ret;

	ret = fan_check_request(req, why, len);
	if (ret)
		goto out_count;
	m = calloc(1, sizeof(*m));
	if (!m) {
		ret = -ENOMEM;
		goto out_count;
	}
	m->mountpoint = strdup(req->mountpoint);
	if (!m->mountpoint) {
		ret = -ENOMEM;
		goto out;
	}
	/* The mountpoint is taken from here on: a second request gets 409. */
	pthread_mutex_lock(&fe->mounts_lock);
	if (fan_mount_find(&fe->mounts, req->mountpoint) ||
	    fan_mount_find(&fe->pending, req->mountpoint)) {
		pthread_mutex_unlock(&fe->mounts_lock);
		snprintf(why, len, "%s is mounted already", req->mountpoint);
		ret = -EEXIST;
		goto out;
	}
	list_add_tail(&m->node, &fe->pending);
	pthread_mutex_unlock(&fe->mounts_lock);

	ret = fan_image_read(req->source, req->cfg->validate, &bi, &m->single,
			     why, len);
	if (ret)
		goto out_pending;
	m->source = strdup(req->source);
	m->fs_type = strdup(req->fs_type ? req->fs_type : bi.rafs ? "rafs" : "erofs");
	m->config = config_to_json(req->cfg);
	if (!m->source || !m->fs_type || !m->config) {
		ret = -ENOMEM;
		goto out_pending;
	}
	ret = fan_mount_files(fe, m, &bi, req->cfg, why, len);
	if (!ret && m->single)
		ret = fan_prefill_metadata(fe, m->files[0], why, len);
	/* Inlined in its data blob: mount a copy, a file, not the memfd. */
	if (!ret && bi.boot_in_memory) {
		ret = bootstrap_to_file(bi.boot_fd, fe->blob_dir, boot,
					sizeof(boot));
		if (ret)
			snprintf(why, len, "writing the bootstrap inlined in %s to %s: %s",
				 req->source, fe->blob_dir, strerror(-ret));
		else
			inlined = true;
	}
	if (!ret)
		ret = fan_do_mount(m, inlined ? boot : NULL,
				   fan_mount_readahead_kb(fe), why, len);
	if (inlined)
		unlink(boot);
out_pending:
	pthread_mutex_lock(&fe->mounts_lock);
	list_del(&m->node);
	if (!ret) {
		list_add_tail(&m->node, &fe->mounts);
		fe->nr_mounts++;
		fan_state_save(fe);
		counter_add(&fe->stats.mounts, 1);
		log_info("mounted %s on %s (%s, %u data blob%s, fanotify)",
			 m->source, m->mountpoint, m->fs_type, m->nr_files,
			 m->nr_files == 1 ? "" : "s");
	} else {
		/*
		 * Under the lock: a file this mount was the last user of is
		 * unmarked before another mount can open that blob again.
		 */
		fan_mount_free(fe, m, true);
	}
	m = NULL;
	pthread_mutex_unlock(&fe->mounts_lock);
out:
	bootstrap_info_free(&bi);
	if (m)
		fan_mount_free(fe, m, true);
out_count:
	if (ret) {
		counter_add(&fe->stats.mount_errors, 1);
		log_warn("mount on %s refused: %s", req->mountpoint ? req->mountpoint : "(none)", why);
	}
	return ret;
}

static int fan_umount_one(struct fanotify_frontend *fe, struct fan_mount *m,
			  bool force, char *why, size_t len)
{
	if (umount2(m->mountpoint, 0)) {
		if (errno == EBUSY && force) {
			log_warn("%s is busy; detaching it: readers that still have files open there may read zeros once the daemon is gone",
				 m->mountpoint);
			umount2(m->mountpoint, MNT_DETACH);
		} else if (errno != EINVAL && errno != ENOENT) {
			snprintf(why, len, "cannot unmount %s: %s%s",
				 m->mountpoint, strerror(errno),
				 errno == EBUSY ? " (files are open there)" : "");
			return -errno;
		}
	}
	list_del(&m->node);
	fe->nr_mounts--;
	fan_state_save(fe);
	counter_add(&fe->stats.umounts, 1);
	log_info("unmounted %s", m->mountpoint);
	fan_mount_free(fe, m, true);
	return 0;
}

int fan_umount(struct frontend *base, const char *mountpoint, char *why,
	       size_t len)
{
	struct fanotify_frontend *fe = fan_of(base);
	struct fan_mount *m;
	int ret;

	pthread_mutex_lock(&fe->mounts_lock);
	m = fan_mount_find(&fe->mounts, mountpoint);
	if (!m) {
		snprintf(why, len, "nothing is mounted on %s by this daemon",
			 mountpoint);
		ret = -ENOENT;
	} else {
		ret = fan_umount_one(fe, m, false, why, len);
	}
	pthread_mutex_unlock(&fe->mounts_lock);
	return ret;
}

void fan_umount_all(struct fanotify_frontend *fe)
{
	struct fan_mount *m, *tmp;
	char why[256];

	pthread_mutex_lock(&fe->mounts_lock);
	list_for_each_entry_safe(m, tmp, &fe->mounts, node)
		fan_umount_one(fe, m, true, why, sizeof(why));
	pthread_mutex_unlock(&fe->mounts_lock);
}

void fan_mounts_forget(struct fanotify_frontend *fe)
{
	struct fan_mount *m, *tmp;

	pthread_mutex_lock(&fe->mounts_lock);
	list_for_each_entry_safe(m, tmp, &fe->mounts, node) {
		list_del(&m->node);
		fan_mount_free(fe, m, false);
	}
	fe->nr_mounts = 0;
	pthread_mutex_unlock(&fe->mounts_lock);
}

struct json_object *fan_mounts_json(struct frontend *base)
{
	struct fanotify_frontend *fe = fan_of(base);
	struct json_object *root = json_object_new_object(), *o, *blobs;
	struct fan_mount *m;
	unsigned int i;

	pthread_mutex_lock(&fe->mounts_lock);
	list_for_each_entry(m, &fe->mounts, node) {
		o = json_object_new_object();
		blobs = json_object_new_array();
		json_object_object_add(o, "source", json_object_new_string(m->source));
		json_object_object_add(o, "fs_type", json_object_new_string(m->fs_type));
		for (i = 0; i < m->nr_files; i++)
			json_object_array_add(blobs,
				json_object_new_string(m->files[i]->blob_id));
		json_object_object_add(o, "blobs", blobs);
		json_object_object_add(root, m->mountpoint, o);
	}
	pthread_mutex_unlock(&fe->mounts_lock);
	return root;
}
