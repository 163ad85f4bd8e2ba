// SPDX-License-Identifier: GPL-2.0
/*
 * Filling a nydus data blob's cache file. The kernel reads the blob's
 * uncompressed space; each READ is mapped to whole chunks, widened to
 * whole chunks up to the fetch unit, and the chunks not yet there are
 * fetched in as few backend requests as their compressed ranges allow,
 * decoded (batch and ZRan units once each), checked and written at their
 * u_off. Which chunks are there is rebuilt at open from the cache file's
 * data (SEEK_DATA/SEEK_HOLE), which is what survives a kill -9, a restart
 * or a restore: a chunk counts only once its whole padded span is data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "image/bootstrap.h"
#include "cache_int.h"
#include "lib/compiler.h"
#include "config/config.h"
#include "lib/digest.h"
#include "format/blob_meta.h"
#include "format/decompress.h"
#include "lib/log.h"
#include "nydus.h"

/* Largest compressed range fetched in one request (a single chunk may be more). */
#define NYDUS_MAX_RUN		(8ULL << 20)
/* Compressed gap between pending chunks still fetched as one request. */
#define NYDUS_MERGE_GAP		(64ULL << 10)

struct nydus_blob {
	struct rafs_blob desc;
	struct blob_meta *meta;
	uint64_t *ready;		/* a bit per chunk, atomic */
	struct chunk_digest *digests;	/* cache.validate: by index, or NULL */
	uint32_t nr_digests;
};

static bool chunk_ready(const struct nydus_blob *nb, uint32_t i)
{
	return __atomic_load_n(&nb->ready[i / 64], __ATOMIC_ACQUIRE) &
	       (1ULL << (i % 64));
}

static void chunk_set_ready(struct nydus_blob *nb, uint32_t i)
{
	__atomic_fetch_or(&nb->ready[i / 64], 1ULL << (i % 64), __ATOMIC_RELEASE);
}

/* Chunks whose padded span lies in data of the cache file are there. */
static uint32_t ready_rebuild(struct nydus_blob *nb, int fd)
{
	const struct blob_meta *m = nb->meta;
	uint32_t i = 0, n = 0;
	off_t data, hole;

	while (i < m->nr_chunks) {
		data = lseek(fd, m->chunks[i].u_off, SEEK_DATA);
		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			break;
		i = blob_meta_find(m, data);
		for (; i < m->nr_chunks &&
		       blob_chunk_aligned_end(&m->chunks[i]) <= (uint64_t)hole; i++) {
			if (m->chunks[i].u_off >= (uint64_t)data) {
				chunk_set_ready(nb, i);
				n++;
			}
		}
		/* Chunk i straddles the hole: look again after it. */
		while (i < m->nr_chunks && m->chunks[i].u_off < (uint64_t)hole)
			i++;
	}
	return n;
}

/* Where chunk @c's bytes are in the blob as stored. */
static void chunk_c_range(const struct blob_meta *m, const struct blob_chunk *c,
			  uint64_t *start, uint64_t *end)
{
	if (c->flags & CHUNK_ZRAN) {
		*start = m->zran[c->ctx].in_offset;
		*end = *start + m->zran[c->ctx].in_len;
	} else if (c->flags & CHUNK_BATCH) {
		*start = c->c_off;
		*end = c->c_off + m->batches[c->ctx].c_size;
	} else {
		*start = c->c_off;
		*end = c->c_off + c->c_size;
	}
}

/* A decoded batch or ZRan context, kept while its members are written. */
struct unit_buf {
	int kind;		/* 0 none, CHUNK_BATCH or CHUNK_ZRAN */
	uint32_t idx;
	unsigned char *data;
	size_t cap;
};

static int unit_reserve(struct unit_buf *u, size_t len)
{
	unsigned char *p;

	if (len <= u->cap)
		return 0;
	p = realloc(u->data, len);
	if (!p)
		return -ENOMEM;
	u->data = p;
	u->cap = len;
	return 0;
}

/* The uncompressed unit chunk @c belongs to, decoded from @src once. */
static int unit_decode(struct blob_cache *bc, const struct blob_chunk *c,
		       const unsigned char *src, struct unit_buf *u)
{
	struct nydus_blob *nb = bc->nydus;
	const struct blob_meta *m = nb->meta;
	int kind = c->flags & (CHUNK_BATCH | CHUNK_ZRAN), ret;

	if (u->kind == kind && u->idx == c->ctx)
		return 0;
	u->kind = 0;
	if (kind == CHUNK_BATCH) {
		const struct blob_batch *b = &m->batches[c->ctx];
		uint32_t alg = b->c_size == b->u_size ? RAFS_COMP_NONE
						      : nb->desc.compressor;

		ret = unit_reserve(u, b->u_size);
		if (!ret)
			ret = rafs_decompress(alg, src, b->c_size, u->data,
					      b->u_size);
	} else {
		const struct blob_zran *z = &m->zran[c->ctx];

		ret = unit_reserve(u, z->out_len);
		if (!ret)
			ret = rafs_zran_inflate(src, z->in_len, z->ctx_byte,
						z->ctx_bits,
						m->dicts + z->dict_off,
						z->dict_size, u->data, z->out_len);
	}
	if (ret)
		return ret;
	u->kind = kind;
	u->idx = c->ctx;
	return 0;
}

/* Chunk @c's uncompressed bytes into @dst, checked. */
static int chunk_decode(struct blob_cache *bc, uint32_t i,
			const unsigned char *src, struct unit_buf *u,
			unsigned char *dst)
{
	struct nydus_blob *nb = bc->nydus;
	const struct blob_chunk *c = &nb->meta->chunks[i];
	const struct chunk_digest *want = NULL;
	unsigned char md[DIGEST_SIZE];
	int ret;

	if (c->flags & (CHUNK_BATCH | CHUNK_ZRAN)) {
		ret = unit_decode(bc, c, src, u);
		if (!ret)
			memcpy(dst, u->data + c->aux, c->u_size);
	} else {
		ret = rafs_decompress(c->flags & CHUNK_COMPRESSED ?
				      nb->desc.compressor : RAFS_COMP_NONE,
				      src, c->c_size, dst, c->u_size);
	}
	if (ret) {
		log_warn("blob %s: chunk %u does not decompress (%s) to its %u bytes: corrupt data",
			 bc->id, i, rafs_compressor_name(nb->desc.compressor),
			 c->u_size);
		counter_add(&bc->stats.decode_errors, 1);
		return -EIO;
	}
	if ((c->flags & CHUNK_HAS_CRC32) && crc32c(dst, c->u_size) != c->aux) {
		log_warn("blob %s: chunk %u fails its CRC32C check: corrupt data, not written",
			 bc->id, i);
		counter_add(&bc->stats.digest_mismatches, 1);
		return -EIO;
	}
	/* No record: no file of the image uses this chunk. */
	if (nb->digests)
		want = chunk_digest_find(nb->digests, nb->nr_digests, i);
	if (want) {
		if (digest_buf(nb->desc.digester, dst, c->u_size, md))
			return -ENOMEM;
		counter_add(&bc->stats.chunks_verified, 1);
		if (memcmp(md, want->md, DIGEST_SIZE)) {
			log_warn("blob %s: chunk %u has another %s digest than the image says: corrupt data, not written",
				 bc->id, i, rafs_digester_name(nb->desc.digester));
			counter_add(&bc->stats.digest_mismatches, 1);
			return -EIO;
		}
	}
	return 0;
}

/* Decode chunk @i from the run fetched at @run_start, write it. */
static int chunk_store(struct blob_cache *bc, uint32_t i,
		       const unsigned char *run, uint64_t run_start,
		       struct unit_buf *u, unsigned char *dst)
{
	const struct blob_meta *m = bc->nydus->meta;
	const struct blob_chunk *c = &m->chunks[i];
	uint64_t cs, ce, t0;
	size_t padded = blob_chunk_aligned_end(c) - c->u_off;
	int ret;

	chunk_c_range(m, c, &cs, &ce);
	t0 = monotonic_us();
	ret = chunk_decode(bc, i, run + (cs - run_start), u, dst);
	counter_add(&bc->stats.decompress_us, monotonic_us() - t0);
	if (ret)
		return ret;
	memset(dst + c->u_size, 0, padded - c->u_size);
	t0 = monotonic_us();
	ret = blob_cache_write(bc, dst, padded, c->u_off);
	counter_add(&bc->stats.write_us, monotonic_us() - t0);
	if (ret) {
		log_debug("blob '%s': writing chunk %u into the cache file failed: %s",
			  bc->id, i, strerror(-ret));
		return ret;
	}
	chunk_set_ready(bc->nydus, i);
	counter_add(&bc->stats.chunks_fetched, 1);
	counter_add(&bc->stats.chunk_bytes, c->u_size);
	return 0;
}

/*
 * The pending chunks from @i on that one request can bring: compressed
 * ranges close together, up to NYDUS_MAX_RUN. Returns the last one.
 */
static uint32_t run_extent(const struct nydus_blob *nb, uint32_t i,
			   uint32_t last, uint64_t *start, uint64_t *end)
{
	const struct blob_meta *m = nb->meta;
	uint64_t cs, ce;
	uint32_t j, end_i = i;

	chunk_c_range(m, &m->chunks[i], start, end);
	for (j = i + 1; j <= last; j++) {
		if (chunk_ready(nb, j))
			continue;
		chunk_c_range(m, &m->chunks[j], &cs, &ce);
		if (cs < *start || cs > *end + NYDUS_MERGE_GAP ||
		    MAX(ce, *end) - *start > NYDUS_MAX_RUN)
			break;
		*end = MAX(*end, ce);
		end_i = j;
	}
	return end_i;
}

/*
 * A worker's buffers, kept from fill to fill: fresh memory for every fill
 * costs a page fault per page written (in UML, most of a fill's time).
 * Buffers beyond SCRATCH_KEEP are given back after each fill.
 */
#define SCRATCH_KEEP		(2U << 20)

struct nydus_scratch {
	unsigned char *run;		/* compressed bytes of a run */
	size_t run_cap;
	unsigned char *dst;		/* one chunk, padded, 4 KiB aligned */
	size_t dst_cap;
	struct unit_buf u;		/* a decoded batch or ZRan context */
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
	struct nydus_scratch *s = p;

	free(s->run);
	free(s->dst);
	free(s->u.data);
	free(s);
}

static void scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_free))
		abort();
}

static struct nydus_scratch *scratch_get(size_t chunk_size)
{
	struct nydus_scratch *s;
	size_t cap = ALIGN_UP(chunk_size, CACHE_BLOCK_SIZE);

	pthread_once(&scratch_once, scratch_key_init);
	s = pthread_getspecific(scratch_key);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || pthread_setspecific(scratch_key, s)) {
			free(s);
			return NULL;
		}
	}
	if (s->dst_cap < cap) {
		free(s->dst);
		s->dst_cap = 0;
		if (posix_memalign((void **)&s->dst, CACHE_BLOCK_SIZE, cap)) {
			s->dst = NULL;
			return NULL;
		}
		s->dst_cap = cap;
	}
	/* A decoded unit of another blob is no use here. */
	s->u.kind = 0;
	return s;
}

static void scratch_trim(struct nydus_scratch *s)
{
	if (s->run_cap > SCRATCH_KEEP) {
		free(s->run);
		s->run = NULL;
		s->run_cap = 0;
	}
	if (s->dst_cap > SCRATCH_KEEP) {
		free(s->dst);
		s->dst = NULL;
		s->dst_cap = 0;
	}
	if (s->u.cap > SCRATCH_KEEP) {
		free(s->u.data);
		s->u.data = NULL;
		s->u.cap = 0;
	}
}

static int fetch_run(struct blob_cache *bc, uint64_t start, uint64_t end,
		     unsigned char **buf, size_t *cap)
{
	uint64_t t0 = monotonic_us();
	unsigned char *p;
	ssize_t n;

	if (end - start > *cap) {
		/* Nothing to keep: no copy, as realloc would make. */
		p = malloc(end - start);
		if (!p)
			return -ENOMEM;
		free(*buf);
		*buf = p;
		*cap = end - start;
	}
	n = backend_blob_read(bc->bblob, *buf, end - start, start);
	counter_add(&bc->stats.fetch_us, monotonic_us() - t0);
	if (n != (ssize_t)(end - start))
		return n < 0 ? (int)n : -EIO;
	counter_add(&bc->stats.compressed_bytes, end - start);
	return 0;
}

/*
 * Fetch and write the chunks in [first, last] that are not there yet.
 * Only a failure of a chunk up to @core (what was asked for) fails the
 * fill: the rest was only fetched along.
 */
static int fill_chunks(struct blob_cache *bc, uint32_t first, uint32_t core,
		       uint32_t last, uint64_t *fetched)
{
	struct nydus_blob *nb = bc->nydus;
	struct nydus_scratch *s = scratch_get(nb->desc.chunk_size);
	uint64_t start, end;
	uint32_t i, j, run_last;
	int ret = 0, err;

	if (!s)
		return -ENOMEM;
	for (i = first; !ret && i <= last; i = run_last + 1) {
		run_last = i;
		if (chunk_ready(nb, i))
			continue;
		run_last = run_extent(nb, i, last, &start, &end);
		err = fetch_run(bc, start, end, &s->run, &s->run_cap);
		if (err) {
			ret = i <= core ? err : 0;
			break;
		}
		for (j = i; j <= run_last; j++) {
			if (chunk_ready(nb, j))
				continue;
			err = chunk_store(bc, j, s->run, start, &s->u, s->dst);
			if (err && j <= core) {
				ret = err;
				break;
			}
			if (!err)
				*fetched += blob_chunk_aligned_end(&nb->meta->chunks[j]) -
					    nb->meta->chunks[j].u_off;
		}
	}
	scratch_trim(s);
	return ret;
}

/*
 * Zeros for what of [start, end) no chunk covers: ZRan blobs have holes,
 * and the kernel must find data where it asked.
 */
static int fill_gaps(struct blob_cache *bc, uint64_t start, uint64_t end)
{
	const struct blob_meta *m = bc->nydus->meta;
	uint32_t i = blob_meta_find(m, start);
	uint64_t pos = start, gap_end;
	/* O_DIRECT: the buffer must be aligned too. */
	static const unsigned char zeros[CACHE_BLOCK_SIZE]
		__attribute__((aligned(CACHE_BLOCK_SIZE)));
	int ret;

	while (pos < end) {
		gap_end = i < m->nr_chunks ? MIN(m->chunks[i].u_off, end) : end;
		for (; pos < gap_end; pos += CACHE_BLOCK_SIZE) {
			ret = blob_cache_write(bc, zeros, CACHE_BLOCK_SIZE, pos);
			if (ret)
				return ret;
		}
		if (i >= m->nr_chunks)
			break;
		pos = MAX(pos, blob_chunk_aligned_end(&m->chunks[i]));
		i++;
	}
	return 0;
}

/* Chunks decoded as one unit: members of one batch or ZRan context. */
static bool same_unit(const struct blob_chunk *a, const struct blob_chunk *b)
{
	uint8_t kind = a->flags & (CHUNK_BATCH | CHUNK_ZRAN);

	return kind && kind == (b->flags & (CHUNK_BATCH | CHUNK_ZRAN)) &&
	       a->ctx == b->ctx;
}

/*
 * The chunks [*first, *core] that serve [off, end), and *last past them to
 * widen to the fetch unit. A batch or ZRan context is fetched and decoded
 * whole, once: all its members come along.
 */
static bool map_range(struct blob_cache *bc, uint64_t off, uint64_t end,
		      uint32_t *first, uint32_t *core, uint32_t *last)
{
	const struct blob_meta *m = bc->nydus->meta;
	uint32_t f = blob_meta_find(m, off), l;
	uint64_t limit;

	if (f >= m->nr_chunks || m->chunks[f].u_off >= end)
		return false;
	l = blob_meta_find(m, end - 1);
	if (l >= m->nr_chunks || m->chunks[l].u_off >= end)
		l--;
	*core = l;
	while (f > 0 && same_unit(&m->chunks[f - 1], &m->chunks[f]))
		f--;
	while (l + 1 < m->nr_chunks && same_unit(&m->chunks[l], &m->chunks[l + 1]))
		l++;
	/* Whole chunks up to the fetch unit from the first: nydusd's amplify. */
	limit = m->chunks[f].u_off + bc->fetch_unit;
	while (l + 1 < m->nr_chunks &&
	       blob_chunk_aligned_end(&m->chunks[l + 1]) <= limit)
		l++;
	*first = f;
	*last = l;
	return true;
}

static int nydus_fill(struct blob_cache *bc, uint64_t off, uint64_t len,
		      struct io_buf *buf, unsigned int flags)
{
	const struct blob_meta *m = bc->nydus->meta;
	uint64_t end, lock_start, lock_end, fetched = 0;
	uint32_t first = 0, core = 0, last = 0;
	bool mapped;
	int ret = 0;

	(void)buf;
	if (off >= bc->size || len == 0) {
		counter_add(&bc->stats.errors, 1);
		return -EINVAL;
	}
	end = MIN(off + len, bc->size);
	lock_start = ALIGN_DOWN(off, CACHE_BLOCK_SIZE);
	lock_end = ALIGN_UP(end, CACHE_BLOCK_SIZE);
	mapped = map_range(bc, off, end, &first, &core, &last);
	if (mapped) {
		lock_start = MIN(lock_start, m->chunks[first].u_off);
		lock_end = MAX(lock_end, blob_chunk_aligned_end(&m->chunks[last]));
	}
	range_lock_acquire(&bc->inflight, lock_start, lock_end);
	if (mapped)
		ret = fill_chunks(bc, first, core, last, &fetched);
	if (!ret && blob_meta_may_have_holes(m))
		ret = fill_gaps(bc, ALIGN_DOWN(off, CACHE_BLOCK_SIZE),
				ALIGN_UP(end, CACHE_BLOCK_SIZE));
	range_lock_release(&bc->inflight, lock_start, lock_end);
	if (ret) {
		counter_add(&bc->stats.errors, 1);
		return ret;
	}
	blob_cache_count_fill(bc, flags, lock_end - lock_start, fetched);
	return 0;
}

static ssize_t nydus_read(struct blob_cache *bc, void *buf, size_t len,
			  uint64_t off)
{
	/* The cache file holds the uncompressed bytes: read them there. */
	ssize_t n;

	if (nydus_fill(bc, off, len, NULL, 0))
		return -EIO;
	n = pread(bc->cache_fd, buf, MIN((uint64_t)len, bc->size - off), off);
	return n < 0 ? -errno : n;
}

static void nydus_blob_release(struct blob_cache *bc)
{
	struct nydus_blob *nb = bc->nydus;

	if (!nb)
		return;
	blob_meta_free(nb->meta);
	free(nb->ready);
	free(nb->digests);
	free(nb);
	bc->nydus = NULL;
}

static const struct blob_cache_ops nydus_blob_ops = {
	.fill = nydus_fill,
	.read = nydus_read,
	.release = nydus_blob_release,
};

/*
 * cache.validate: the blob's own blob.digest gives the chunks no record of
 * the bootstrap's chunk table names (no file of this image uses them, but
 * read-ahead may fetch them). Where both name a chunk, the image's word
 * stands: it is what the files must hold.
 */
static int nydus_add_blob_digests(struct blob_cache *bc, struct nydus_blob *nb,
				  const char *dir)
{
	struct chunk_digest *d;
	unsigned char *dig;
	char err[512] = "";
	uint32_t i, n, differ = 0;
	const struct chunk_digest *have;
	int ret;

	ret = nydus_blob_digests(bc->bblob, &nb->desc, dir, &dig, err,
				 sizeof(err));
	if (ret) {
		log_error("OPEN of a nydus data blob with cache.validate: %s",
			  *err ? err : strerror(-ret));
		return ret;
	}
	if (!dig)
		return 0;
	n = nb->nr_digests;
	d = realloc(nb->digests, ((size_t)n + nb->desc.chunk_count) * sizeof(*d));
	if (!d) {
		free(dig);
		return -ENOMEM;
	}
	nb->digests = d;
	for (i = 0; i < nb->desc.chunk_count; i++) {
		have = chunk_digest_find(nb->digests, n, i);
		if (have) {
			differ += memcmp(have->md, dig + (size_t)i * DIGEST_SIZE,
					 DIGEST_SIZE) != 0;
			continue;
		}
		d[nb->nr_digests].index = i;
		memcpy(d[nb->nr_digests++].md, dig + (size_t)i * DIGEST_SIZE,
		       DIGEST_SIZE);
	}
	free(dig);
	chunk_digests_sort(nb->digests, &nb->nr_digests);
	if (differ)
		log_warn("blob %s: its blob.digest differs from the image's chunk table for %u chunks: the image's digests are checked",
			 bc->id, differ);
	return 0;
}

int nydus_blob_init(struct cache_mgr *mgr, const struct blob_info *info,
		    struct blob_cache *bc)
{
	char dir[4096], err[512] = "";
	struct nydus_blob *nb;
	uint64_t fetched = 0;
	uint32_t ready;
	int ret;

	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	nb->desc = *info->rafs;
	bc->nydus = nb;
	/* Set first: a failed init is undone by blob_cache_free's release. */
	bc->ops = &nydus_blob_ops;
	if (mgr->config->validate && info->chunk_digests) {
		size_t n = info->nr_chunk_digests * sizeof(*nb->digests);

		nb->digests = malloc(n ? n : 1);
		if (!nb->digests)
			return -ENOMEM;
		memcpy(nb->digests, info->chunk_digests, n);
		nb->nr_digests = info->nr_chunk_digests;
	}
	if (info->stage_dir &&
	    snprintf(dir, sizeof(dir), "%s/%s", info->stage_dir,
		     NYDUS_META_DIR) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	ret = nydus_meta_load(mgr->backend, bc->bblob, &nb->desc,
			      info->stage_dir ? dir : NULL, &nb->meta,
			      &fetched, err, sizeof(err));
	counter_add(&bc->stats.meta_bytes, fetched);
	if (ret) {
		if (*err)
			log_error("OPEN of a nydus data blob: %s", err);
		else
			log_error("OPEN of blob %s: loading its blob meta: %s",
				  bc->id, strerror(-ret));
		return ret;
	}
	if (mgr->config->validate) {
		ret = nydus_add_blob_digests(bc, nb,
					     info->stage_dir ? dir : NULL);
		if (ret)
			return ret;
		if (!nb->nr_digests)
			log_warn("blob %s: cache.validate, but neither the image nor the blob gives chunk digests: only CRC32C is checked",
				 bc->id);
	}
	nb->ready = calloc((nb->meta->nr_chunks + 63) / 64, sizeof(uint64_t));
	if (!nb->ready)
		return -ENOMEM;
	bc->size = nb->desc.uncompressed_size;
	/* Whole chunks are read ahead, compressed or not (design.md). */
	bc->format = BLOB_FORMAT_PLAIN;
	ready = ready_rebuild(nb, bc->cache_fd);
	log_debug("blob %s: %u chunks (%s, %s), %u already in the cache file, blob meta %s",
		  bc->id, nb->meta->nr_chunks,
		  rafs_compressor_name(nb->desc.compressor),
		  rafs_digester_name(nb->desc.digester), ready,
		  fetched ? "fetched" : "kept locally");
	return 0;
}
