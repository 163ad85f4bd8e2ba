// SPDX-License-Identifier: GPL-2.0
/* Bootstraps inlined in their data blobs: see bootstrap_inline.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap_inline.h"
#include "lib/compiler.h"
#include "lib/digest.h"
#include "lib/errmsg.h"
#include "lib/fileio.h"
#include "format/decompress.h"
#include "format/rafs.h"
#include "format/toc.h"

/* The ToC with as many entries as it may have, and its tar header. */
#define TOC_TAIL_MAX	(TOC_MAX_ENTRIES * TOC_ENTRY_SIZE + TAR_HEADER_SIZE)

static int toc_of(int fd, uint64_t size, struct blob_toc *toc, char *err,
		  size_t errlen)
{
	size_t len = (size_t)MIN(size, (uint64_t)TOC_TAIL_MAX);
	char ignored[160];
	unsigned char *tail;
	int ret;

	tail = malloc(len ? len : 1);
	if (!tail)
		return -ENOMEM;
	ret = pread_full(fd, tail, len, (off_t)(size - len));
	if (ret)
		err_einval(err, errlen, "reading its last %zu bytes: %s", len,
			   strerror(-ret));
	else if (blob_toc_parse(tail, len, NULL, toc, ignored, sizeof(ignored)))
		ret = -ENOENT;
	free(tail);
	return ret;
}

/* Where and how image.boot is stored: bounded before anything is read. */
static int boot_entry_check(const struct toc_entry *te, uint64_t size,
			    char *err, size_t errlen)
{
	uint32_t comp = te->flags & 0xF;

	if (comp != TOC_COMP_NONE && comp != TOC_COMP_ZSTD)
		return err_einval(err, errlen, "inlined bootstrap: ToC entry image.boot has flags 0x%x: only stored and zstd are read (as by nydus)",
				  te->flags);
	if (!te->u_size || te->u_size > BOOTSTRAP_INLINE_MAX ||
	    te->c_size > BOOTSTRAP_INLINE_MAX)
		return err_einval(err, errlen, "inlined bootstrap: ToC entry image.boot sizes %llu (stored) and %llu: at most %llu MiB",
				  (unsigned long long)te->c_size,
				  (unsigned long long)te->u_size,
				  BOOTSTRAP_INLINE_MAX >> 20);
	if (comp == TOC_COMP_NONE && te->c_size != te->u_size)
		return err_einval(err, errlen, "inlined bootstrap: stored image.boot has compressed_size %llu but uncompressed_size %llu",
				  (unsigned long long)te->c_size,
				  (unsigned long long)te->u_size);
	if (te->c_off > size || size - te->c_off < te->c_size)
		return err_einval(err, errlen, "inlined bootstrap: ToC entry image.boot (0x%llx, %llu bytes) is outside the %llu-byte blob",
				  (unsigned long long)te->c_off,
				  (unsigned long long)te->c_size,
				  (unsigned long long)size);
	return 0;
}

/* image.boot's bytes, decompressed and checked against the ToC's sha256. */
static int boot_read(int fd, const struct toc_entry *te, unsigned char **out,
		     char *err, size_t errlen)
{
	unsigned char md[DIGEST_SIZE], *c, *u;
	int ret;

	c = malloc(te->c_size ? te->c_size : 1);
	u = (te->flags & 0xF) == TOC_COMP_NONE ? c : malloc(te->u_size);
	ret = -ENOMEM;
	if (!c || !u)
		goto err;
	ret = pread_full(fd, c, te->c_size, (off_t)te->c_off);
	if (ret) {
		err_einval(err, errlen, "inlined bootstrap: reading image.boot: %s",
			   strerror(-ret));
		goto err;
	}
	if (u != c && rafs_decompress(RAFS_COMP_ZSTD, c, te->c_size, u,
				      te->u_size)) {
		ret = err_einval(err, errlen, "inlined bootstrap: image.boot is not one zstd frame of %llu bytes",
				 (unsigned long long)te->u_size);
		goto err;
	}
	ret = digest_buf(DIGEST_SHA256, u, te->u_size, md);
	if (ret) {
		err_einval(err, errlen, "inlined bootstrap: hashing image.boot: %s",
			   strerror(-ret));
		goto err;
	}
	if (memcmp(md, te->sha256, sizeof(md))) {
		ret = err_einval(err, errlen, "inlined bootstrap: image.boot's sha256 differs from its ToC entry's");
		goto err;
	}
	if (u != c)
		free(c);
	*out = u;
	return 0;
err:
	if (u != c)
		free(u);
	free(c);
	return ret;
}

int bootstrap_memfd_of(const void *buf, size_t len)
{
	int fd = memfd_create("fscached-bootstrap",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int ret;

	if (fd < 0)
		return -errno;
	ret = pwrite_full(fd, buf, len, 0);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int bootstrap_memfd_seal(int fd)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL))
		return -errno;
	return 0;
}

int bootstrap_to_file(int boot_fd, const char *dir, char *path, size_t len)
{
	off_t off = 0;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	if (fstat(boot_fd, &st))
		return -errno;
	if ((size_t)snprintf(path, len, "%s/.bootstrap.XXXXXX", dir) >= len)
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < st.st_size) {
		n = sendfile(fd, boot_fd, &off, st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : -EIO;
			break;
		}
	}
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret)
		unlink(path);
	return ret;
}

int bootstrap_inline_extract(int fd, uint64_t size, int *out, char *err,
			     size_t errlen)
{
	const struct toc_entry *te;
	struct blob_toc toc;
	unsigned char *boot = NULL;
	int ret;

	ret = toc_of(fd, size, &toc, err, errlen);
	if (ret)
		return ret;
	te = blob_toc_find(&toc, "image.boot");
	if (!te)
		return -ENOENT;
	ret = boot_entry_check(te, size, err, errlen);
	if (ret)
		return ret;
	ret = boot_read(fd, te, &boot, err, errlen);
	if (ret)
		return ret;
	ret = bootstrap_memfd_of(boot, te->u_size);
	free(boot);
	if (ret < 0) {
		err_einval(err, errlen, "inlined bootstrap: cannot keep it in memory: %s",
			   strerror(-ret));
		return ret;
	}
	*out = ret;
	return 0;
}

int bootstrap_inline_id(const char *path, char id[65])
{
	const char *name = strrchr(path, '/'), *dot;
	size_t len, i;

	name = name ? name + 1 : path;
	dot = strrchr(name, '.');
	len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	if (len != RAFS_BLOB_ID_LEN)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return -EINVAL;
	memcpy(id, name, len);
	id[len] = '\0';
	return 0;
}
