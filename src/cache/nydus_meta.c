// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a data blob's meta once. The local copy has nydusd's layout
 * (uncompressed ci, zero padding to 4 KiB, the 4096-byte header), and we
 * put a sha256 of the ci data, the header and the blob table entry into
 * the header's reserved bytes: a copy that does not match it, or whose
 * header does not match the blob table, is fetched again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "lib/compiler.h"
#include "lib/digest.h"
#include "lib/fileio.h"
#include "format/blob_meta.h"
#include "format/decompress.h"
#include "format/toc.h"
#include "lib/log.h"
#include "nydus.h"

/* In the reserved bytes of the local copy's header. */
#define LOCAL_MARK_OFF		0x800
#define LOCAL_MARK		"fscached-ci-sha256"
#define LOCAL_DIGEST_OFF	(LOCAL_MARK_OFF + 32)

struct meta_bytes {
	unsigned char *ci;		/* uncompressed, ci_uncompressed_size */
	unsigned char hdr[BLOB_META_HEADER_SIZE];
};

static uint64_t local_size(const struct rafs_blob *d)
{
	return ALIGN_UP(d->ci_uncompressed_size, 4096ULL) + BLOB_META_HEADER_SIZE;
}

static int local_path(const char *dir, const char *id, char *path,
		      size_t len)
{
	int n = snprintf(path, len, "%s/%s.blob.meta", dir, id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The blob table fields that decide how a blob's meta is read, all but
 * the id (the file name has it): a blob converted twice with other metas
 * never gets the other's copy.
 */
struct entry_key {
	uint64_t fields[12];
	unsigned char meta_digest[32];
};

static void entry_key(const struct rafs_blob *d, struct entry_key *k)
{
	const uint64_t fields[] = {
		d->chunk_size, d->chunk_count, d->compressor, d->digester,
		d->features, d->compressed_size, d->uncompressed_size,
		d->ci_compressor, d->ci_offset, d->ci_compressed_size,
		d->ci_uncompressed_size, d->meta_size,
	};

	memcpy(k->fields, fields, sizeof(k->fields));
	memcpy(k->meta_digest, d->meta_digest, sizeof(k->meta_digest));
}

/* What a local copy is sealed with: @data, then the entry's key. */
static int local_seal(const struct rafs_blob *d, const void *data, size_t len,
		      const void *hdr, size_t hdr_len,
		      unsigned char md[DIGEST_SIZE])
{
	struct entry_key k;
	struct iovec iov[3] = {
		{ (void *)data, len }, { (void *)hdr, hdr_len }, { &k, sizeof(k) },
	};

	entry_key(d, &k);
	return digest_sha256_parts(iov, 3, md);
}

/* The meta copy's seal: the ci data and the header up to our mark. */
static int local_digest(const struct rafs_blob *d, const struct meta_bytes *mb,
			unsigned char md[DIGEST_SIZE])
{
	return local_seal(d, mb->ci, d->ci_uncompressed_size, mb->hdr,
			  LOCAL_MARK_OFF, md);
}

/* The local copy, if it is there and right: 0, or why not. */
static int local_read(const char *path, const struct rafs_blob *d,
		      struct meta_bytes *mb)
{
	unsigned char md[DIGEST_SIZE];
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = -EINVAL;
	if (fstat(fd, &st) || (uint64_t)st.st_size != local_size(d))
		goto out;
	ret = pread_full(fd, mb->hdr, sizeof(mb->hdr),
			 local_size(d) - BLOB_META_HEADER_SIZE);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (memcmp(mb->hdr + LOCAL_MARK_OFF, LOCAL_MARK, sizeof(LOCAL_MARK)) ||
	    blob_meta_header_check(d, mb->hdr, NULL, 0))
		goto out;
	ret = pread_full(fd, mb->ci, d->ci_uncompressed_size, 0);
	if (ret)
		goto out;
	ret = local_digest(d, mb, md);
	if (!ret && memcmp(md, mb->hdr + LOCAL_DIGEST_OFF, DIGEST_SIZE))
		ret = -EINVAL;
out:
	close(fd);
	return ret;
}

/* Keep a copy (written whole, then renamed): failing is only slower. */
static void local_write(const char *dir, const char *path,
			const struct rafs_blob *d, struct meta_bytes *mb)
{
	unsigned char hdr[BLOB_META_HEADER_SIZE];
	struct file_part parts[2] = {
		{ mb->ci, d->ci_uncompressed_size, 0 },
		{ hdr, sizeof(hdr), local_size(d) - BLOB_META_HEADER_SIZE },
	};
	int ret;

	memcpy(hdr, mb->hdr, sizeof(hdr));
	memcpy(hdr + LOCAL_MARK_OFF, LOCAL_MARK, sizeof(LOCAL_MARK));
	ret = local_digest(d, mb, hdr + LOCAL_DIGEST_OFF);
	if (!ret && mkdir(dir, 0700) && errno != EEXIST)
		ret = -errno;
	if (!ret)
		ret = file_write_atomic(path, parts, 2);
	if (ret)
		log_warn("blob %s: cannot keep its blob meta in %s: %s; it will be fetched again at the next open",
			 d->id, dir, strerror(-ret));
}

/* ci + header from the backend blob @src, decompressed. */
static int fetch_meta(struct backend_blob *src, const char *src_id,
		      const struct rafs_blob *d, struct meta_bytes *mb,
		      uint64_t *fetched, char *err, size_t errlen)
{
	uint64_t want = d->ci_compressed_size + BLOB_META_HEADER_SIZE;
	unsigned char *raw;
	ssize_t n;
	int ret;

	if (d->ci_offset > src->size || src->size - d->ci_offset < want) {
		snprintf(err, errlen, "blob %s: blob meta [%llu, +%llu) is past the end of blob %s (%llu bytes): truncated, or not this image's blob",
			 d->id, (unsigned long long)d->ci_offset,
			 (unsigned long long)want, src_id,
			 (unsigned long long)src->size);
		return -EINVAL;
	}
	raw = malloc(want);
	if (!raw)
		return -ENOMEM;
	n = backend_blob_read(src, raw, want, d->ci_offset);
	if (n != (ssize_t)want) {
		ret = n < 0 ? (int)n : -EIO;
		snprintf(err, errlen, "blob %s: fetching its blob meta from %s failed: %s",
			 d->id, src_id, strerror(-ret));
		goto out;
	}
	*fetched += want;
	memcpy(mb->hdr, raw + d->ci_compressed_size, BLOB_META_HEADER_SIZE);
	ret = blob_meta_header_check(d, mb->hdr, err, errlen);
	if (ret)
		goto out;
	ret = rafs_decompress(d->ci_compressor, raw, d->ci_compressed_size,
			      mb->ci, d->ci_uncompressed_size);
	if (ret) {
		snprintf(err, errlen, "blob %s: its ci data (%llu bytes, %s) does not decompress to ci_uncompressed_size %llu",
			 d->id, (unsigned long long)d->ci_compressed_size,
			 rafs_compressor_name(d->ci_compressor),
			 (unsigned long long)d->ci_uncompressed_size);
		ret = -EINVAL;
	}
out:
	free(raw);
	return ret;
}

static int fetch_meta_from_backend(struct backend *be, struct backend_blob *data,
				   const struct rafs_blob *d,
				   struct meta_bytes *mb, uint64_t *fetched,
				   char *err, size_t errlen)
{
	char meta_id[2 * DIGEST_SIZE + 1];
	struct backend_blob *src;
	int ret;

	if (!(d->features & RAFS_BLOB_SEPARATE))
		return fetch_meta(data, d->id, d, mb, fetched, err, errlen);
	digest_hex(d->meta_digest, DIGEST_SIZE, meta_id);
	ret = backend_blob_open(be, meta_id, &src);
	if (ret) {
		snprintf(err, errlen, "blob %s: its meta blob %s (blob_meta_digest) cannot be opened: %s",
			 d->id, meta_id,
			 ret == -ENOENT ? "not found in the backend" : strerror(-ret));
		return ret;
	}
	ret = fetch_meta(src, meta_id, d, mb, fetched, err, errlen);
	backend_blob_close(src);
	return ret;
}

int nydus_meta_load(struct backend *be, struct backend_blob *data,
		    const struct rafs_blob *d, const char *dir,
		    struct blob_meta **out, uint64_t *fetched, char *err,
		    size_t errlen)
{
	struct meta_bytes mb;
	char path[PATH_MAX];
	bool have_local;
	uint64_t data_size = rafs_blob_data_size(d);
	int ret;

	*fetched = 0;
	/* SEPARATE: the data blob is the original layer, of that size. */
	if (data_size > data->size) {
		snprintf(err, errlen, "blob %s: its chunk data ends at %llu, past the blob's %llu bytes",
			 d->id, (unsigned long long)data_size,
			 (unsigned long long)data->size);
		return -EINVAL;
	}
	mb.ci = malloc(d->ci_uncompressed_size);
	if (!mb.ci)
		return -ENOMEM;
	have_local = dir && !local_path(dir, d->id, path, sizeof(path)) &&
		     !local_read(path, d, &mb);
	if (!have_local) {
		ret = fetch_meta_from_backend(be, data, d, &mb, fetched, err,
					      errlen);
		if (ret)
			goto out;
	}
	ret = blob_meta_parse(d, mb.ci, d->ci_uncompressed_size, mb.hdr,
			      data_size, out, err, errlen);
	if (ret && have_local) {
		/* Kept by an older fscached, say: drop it, fetch it again. */
		log_warn("blob %s: its kept blob meta %s does not parse (%s): fetching it again",
			 d->id, path, err);
		unlink(path);
		have_local = false;
		ret = fetch_meta_from_backend(be, data, d, &mb, fetched, err,
					      errlen);
		if (!ret)
			ret = blob_meta_parse(d, mb.ci, d->ci_uncompressed_size,
					      mb.hdr, data_size, out, err, errlen);
	}
	if (!ret && !have_local && dir && !local_path(dir, d->id, path, sizeof(path)))
		local_write(dir, path, d, &mb);
out:
	free(mb.ci);
	return ret;
}

/* Sections fetched whole: bound what a ToC can make us fetch. */
#define SECTION_MAX		(64ULL << 20)

static int toc_read(struct backend_blob *data, const struct rafs_blob *d,
		    struct blob_toc *toc, char *err, size_t errlen)
{
	uint64_t len = d->toc_size ? d->toc_size : MIN(TOC_DEFAULT_TAIL, data->size);
	unsigned char *tail;
	ssize_t n;
	int ret;

	if (len > data->size || len > TAR_HEADER_SIZE + TOC_ENTRY_SIZE * TOC_MAX_ENTRIES +
				       TOC_DEFAULT_TAIL) {
		snprintf(err, errlen, "blob %s: blob_toc_size %u does not fit the blob's %llu bytes",
			 d->id, d->toc_size, (unsigned long long)data->size);
		return -EINVAL;
	}
	tail = malloc(len);
	if (!tail)
		return -ENOMEM;
	n = backend_blob_read(data, tail, len, data->size - len);
	ret = n == (ssize_t)len ? 0 : n < 0 ? (int)n : -EIO;
	if (ret)
		snprintf(err, errlen, "blob %s: fetching its ToC failed: %s", d->id,
			 strerror(-ret));
	else
		ret = blob_toc_parse(tail, len, d->toc_digest, toc, err, errlen);
	if (ret == -EINVAL) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "blob %s: %s", d->id, why);
	}
	free(tail);
	return ret;
}

/*
 * The blob.digest kept beside the blob meta: the digests, then a sha256 of
 * them and of the blob table entry, so that a remount fetches nothing.
 */
static int digests_path(const char *dir, const char *id, char *path,
			size_t len)
{
	int n = snprintf(path, len, "%s/%s.blob.digest", dir, id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int digests_seal(const struct rafs_blob *d, const unsigned char *dig,
			size_t len, unsigned char md[DIGEST_SIZE])
{
	return local_seal(d, dig, len, NULL, 0, md);
}

static unsigned char *digests_read_local(const char *dir,
					 const struct rafs_blob *d, size_t len)
{
	unsigned char md[DIGEST_SIZE], *dig;
	char path[PATH_MAX];
	struct stat st;
	int fd, ok = 0;

	if (!dir || digests_path(dir, d->id, path, sizeof(path)))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	dig = malloc(len + DIGEST_SIZE);
	if (dig && !fstat(fd, &st) && (size_t)st.st_size == len + DIGEST_SIZE &&
	    !pread_full(fd, dig, len + DIGEST_SIZE, 0) &&
	    !digests_seal(d, dig, len, md) && !memcmp(md, dig + len, DIGEST_SIZE))
		ok = 1;
	close(fd);
	if (!ok) {
		free(dig);
		return NULL;
	}
	return dig;
}

static void digests_write_local(const char *dir, const struct rafs_blob *d,
				const unsigned char *dig, size_t len)
{
	unsigned char md[DIGEST_SIZE];
	struct file_part parts[2] = { { dig, len, 0 }, { md, DIGEST_SIZE, len } };
	char path[PATH_MAX];

	/* Failing is only slower: the next open fetches it again. */
	if (!dir || digests_path(dir, d->id, path, sizeof(path)) ||
	    digests_seal(d, dig, len, md) ||
	    (mkdir(dir, 0700) && errno != EEXIST))
		return;
	file_write_atomic(path, parts, 2);
}

int nydus_blob_digests(struct backend_blob *data, const struct rafs_blob *d,
		       const char *dir, unsigned char **out, char *err,
		       size_t errlen)
{
	const struct toc_entry *e;
	unsigned char md[DIGEST_SIZE], *raw = NULL, *dig = NULL;
	struct blob_toc toc;
	uint64_t want = (uint64_t)d->chunk_count * DIGEST_SIZE;
	ssize_t n;
	int ret;

	*out = NULL;
	if (!(d->features & RAFS_BLOB_HAS_TOC) ||
	    !(d->features & RAFS_BLOB_INLINED_CHUNK_DIGEST) ||
	    (d->features & RAFS_BLOB_SEPARATE))
		return 0;
	*out = digests_read_local(dir, d, want);
	if (*out)
		return 0;
	ret = toc_read(data, d, &toc, err, errlen);
	if (ret)
		return ret;
	e = blob_toc_find(&toc, "blob.digest");
	if (!e)
		return 0;
	ret = -EINVAL;
	if (e->u_size != want || e->c_size > SECTION_MAX ||
	    e->c_off > data->size || data->size - e->c_off < e->c_size ||
	    !(e->flags & (TOC_COMP_NONE | TOC_COMP_ZSTD))) {
		snprintf(err, errlen, "blob %s: its ToC's blob.digest (flags 0x%x, [%llu, +%llu), %llu bytes) does not fit %u chunks in the blob",
			 d->id, e->flags, (unsigned long long)e->c_off,
			 (unsigned long long)e->c_size,
			 (unsigned long long)e->u_size, d->chunk_count);
		return ret;
	}
	raw = malloc(e->c_size ? e->c_size : 1);
	dig = malloc(want);
	if (!raw || !dig) {
		ret = -ENOMEM;
		goto out;
	}
	n = backend_blob_read(data, raw, e->c_size, e->c_off);
	if (n != (ssize_t)e->c_size) {
		ret = n < 0 ? (int)n : -EIO;
		snprintf(err, errlen, "blob %s: fetching its blob.digest failed: %s",
			 d->id, strerror(-ret));
		goto out;
	}
	if (rafs_decompress(e->flags & TOC_COMP_ZSTD ? RAFS_COMP_ZSTD : RAFS_COMP_NONE,
			    raw, e->c_size, dig, want) ||
	    digest_buf(DIGEST_SHA256, dig, want, md) ||
	    memcmp(md, e->sha256, DIGEST_SIZE)) {
		snprintf(err, errlen, "blob %s: its blob.digest does not decompress to its size or differs from its ToC sha256",
			 d->id);
		goto out;
	}
	digests_write_local(dir, d, dig, want);
	*out = dig;
	dig = NULL;
	ret = 0;
out:
	free(raw);
	free(dig);
	return ret;
}

int nydus_meta_drop(const char *cache_dir, const char *blob_id)
{
	static int (*const paths[])(const char *, const char *, char *,
				    size_t) = { local_path, digests_path };
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned int i;
	int n = 0;

	/* A name from a directory listing: never a path. */
	if (!*blob_id || blob_id[0] == '.' || strchr(blob_id, '/'))
		return -EINVAL;
	if (snprintf(dir, sizeof(dir), "%s/%s", cache_dir, NYDUS_META_DIR) >=
	    (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		if (paths[i](dir, blob_id, path, sizeof(path)))
			return -ENAMETOOLONG;
		if (!unlink(path))
			n++;
		else if (errno != ENOENT)
			return -errno;
	}
	if (n)
		log_debug("blob %s: its cache file is culled, and its %d local blob meta files with it",
			  blob_id, n);
	return n;
}
