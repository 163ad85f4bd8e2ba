// SPDX-License-Identifier: GPL-2.0
/*
 * erofs-set-tag - set the tag of an extra-device slot in an EROFS image
 *
 * In fscache mode the kernel names the cookie of each extra device (data
 * blob) of an EROFS image by the 64-byte tag of its slot in the device
 * table.  mkfs.erofs --blobdev leaves that tag empty; this tool fills it in
 * and keeps the superblock checksum valid.
 *
 *   erofs-set-tag IMAGE [--device N] TAG
 *   erofs-set-tag IMAGE --list
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* On-disk layout (all fields little endian). */
#define EROFS_SUPER_MAGIC		0xE0F5E1E2u
#define EROFS_SUPER_OFFSET		1024
#define EROFS_SUPER_BASE_SIZE		128	/* + sb_extslots * 16 */
#define EROFS_SB_EXTSLOT_SIZE		16
#define EROFS_COMPAT_SB_CHKSUM		0x00000001u
#define EROFS_INCOMPAT_DEVICE_TABLE	0x00000008u

/* Offsets inside struct erofs_super_block. */
#define SB_MAGIC		0
#define SB_CHECKSUM		4
#define SB_FEATURE_COMPAT	8
#define SB_BLKSZBITS		12
#define SB_EXTSLOTS		13
#define SB_FEATURE_INCOMPAT	80
#define SB_EXTRA_DEVICES	86
#define SB_DEVT_SLOTOFF		88

/* struct erofs_deviceslot: tag[64], blocks, mapped_blkaddr, reserved[56] */
#define DEVT_SLOT_SIZE		128
#define DEVT_TAG		0
#define DEVT_TAG_SIZE		64
#define DEVT_BLOCKS		64
#define DEVT_MAPPED_BLKADDR	68

/* fscache mode only works with 4KiB blocks. */
#define EROFS_BLKSZBITS		12
#define EROFS_BLKSIZ		(1u << EROFS_BLKSZBITS)

/* The kernel reads the tag as up to 64 bytes, NUL-terminated or not. */
#define TAG_MAX			DEVT_TAG_SIZE

#define EXIT_USAGE		2

struct image {
	const char *path;
	int fd;
	uint64_t size;
	uint8_t blk0[EROFS_BLKSIZ];	/* block 0: holds the superblock */
	uint8_t *sb;			/* blk0 + EROFS_SUPER_OFFSET */
	bool has_chksum;
	unsigned int extra_devices;
	uint64_t devt_off;		/* byte offset of slot 0 */
};

static const char *prog = "erofs-set-tag";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s IMAGE [--device N] TAG\n"
		"       %s IMAGE --list\n"
		"\n"
		"Set the tag of extra-device slot N (default 0) of the EROFS image\n"
		"IMAGE to TAG, fixing up the superblock checksum, or list the\n"
		"device table.  TAG: 1..%d printable ASCII bytes that fscached\n"
		"accepts as a blob id (no spaces, no '/', '\\', quotes, '$', '*',\n"
		"'?', no leading '.', no \"..\").\n",
		prog, prog, TAG_MAX);
}

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * CRC-32C (Castagnoli), reflected, without final inversion: the raw form
 * the kernel's crc32c() and erofs-utils compute.
 */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	static uint32_t table[256];
	static bool ready;
	uint32_t i, j, c;

	if (!ready) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (j = 0; j < 8; j++)
				c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
			table[i] = c;
		}
		ready = true;
	}
	while (len--)
		crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xff];
	return crc;
}

/*
 * Superblock checksum: crc32c seeded with ~0 over the rest of block 0,
 * from EROFS_SUPER_OFFSET to the end of the block, with the checksum field
 * read as zero.
 */
static uint32_t sb_checksum(const struct image *img)
{
	static const uint8_t zero[4];
	const uint8_t *sb = img->sb;
	size_t len = EROFS_BLKSIZ - EROFS_SUPER_OFFSET;
	uint32_t crc;

	crc = crc32c(~0u, sb, SB_CHECKSUM);
	crc = crc32c(crc, zero, sizeof(zero));
	return crc32c(crc, sb + SB_CHECKSUM + 4, len - SB_CHECKSUM - 4);
}

/* Same rule as fscached's blob_id_valid(), capped at TAG_MAX bytes. */
static bool tag_valid(const char *tag, size_t len)
{
	size_t i;

	if (len == 0 || len > TAG_MAX || tag[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = tag[i];

		if (c <= 0x20 || c >= 0x7f || strchr("/\\\"'`$*?", c))
			return false;
		if (c == '.' && i + 1 < len && tag[i + 1] == '.')
			return false;
	}
	return true;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pread(fd, (uint8_t *)buf + done, len - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		done += n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pwrite(fd, (const uint8_t *)buf + done, len - done,
			   off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/* Open IMAGE and check everything the device table depends on. */
static int image_open(struct image *img, const char *path, bool rw)
{
	uint32_t magic, compat, incompat;
	unsigned int extslots, sb_end;
	off_t end;
	int ret;

	img->path = path;
	img->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (img->fd < 0) {
		ret = -errno;
		err("%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	end = lseek(img->fd, 0, SEEK_END);
	if (end < 0) {
		ret = -errno;
		err("%s: cannot get size: %s", path, strerror(-ret));
		goto out_close;
	}
	img->size = end;

	ret = -EINVAL;
	if (img->size < EROFS_BLKSIZ) {
		err("%s: too small for an EROFS image (%" PRIu64 " bytes)",
		    path, img->size);
		goto out_close;
	}
	ret = read_full(img->fd, img->blk0, EROFS_BLKSIZ, 0);
	if (ret) {
		err("%s: cannot read superblock: %s", path, strerror(-ret));
		goto out_close;
	}
	img->sb = img->blk0 + EROFS_SUPER_OFFSET;

	ret = -EINVAL;
	magic = get_le32(img->sb + SB_MAGIC);
	if (magic != EROFS_SUPER_MAGIC) {
		err("%s: not an EROFS image (magic 0x%08x at offset %d, expected 0x%08x)",
		    path, magic, EROFS_SUPER_OFFSET, EROFS_SUPER_MAGIC);
		goto out_close;
	}
	if (img->sb[SB_BLKSZBITS] != EROFS_BLKSZBITS) {
		err("%s: block size 2^%u is not supported (fscache needs 4096)",
		    path, img->sb[SB_BLKSZBITS]);
		goto out_close;
	}
	extslots = img->sb[SB_EXTSLOTS];
	sb_end = EROFS_SUPER_OFFSET + EROFS_SUPER_BASE_SIZE +
		 extslots * EROFS_SB_EXTSLOT_SIZE;
	if (sb_end > EROFS_BLKSIZ) {
		err("%s: corrupt superblock (sb_extslots %u overflows block 0)",
		    path, extslots);
		goto out_close;
	}

	compat = get_le32(img->sb + SB_FEATURE_COMPAT);
	img->has_chksum = compat & EROFS_COMPAT_SB_CHKSUM;
	if (img->has_chksum) {
		uint32_t stored = get_le32(img->sb + SB_CHECKSUM);
		uint32_t calc = sb_checksum(img);

		if (stored != calc) {
			err("%s: superblock checksum mismatch (stored 0x%08x, computed 0x%08x); refusing to touch a corrupt image",
			    path, stored, calc);
			ret = -EBADMSG;
			goto out_close;
		}
	}

	incompat = get_le32(img->sb + SB_FEATURE_INCOMPAT);
	img->extra_devices = get_le16(img->sb + SB_EXTRA_DEVICES);
	if (!(incompat & EROFS_INCOMPAT_DEVICE_TABLE) || !img->extra_devices) {
		err("%s: image has no extra devices (no device table); build it with mkfs.erofs --blobdev",
		    path);
		goto out_close;
	}
	img->devt_off = (uint64_t)get_le16(img->sb + SB_DEVT_SLOTOFF) *
			DEVT_SLOT_SIZE;
	if (img->devt_off < sb_end) {
		err("%s: corrupt superblock (device table at offset %" PRIu64 " does not follow the superblock, which ends at %u)",
		    path, img->devt_off, sb_end);
		goto out_close;
	}
	if (img->devt_off + (uint64_t)img->extra_devices * DEVT_SLOT_SIZE >
	    img->size) {
		err("%s: corrupt superblock (device table, %u slot(s) at offset %" PRIu64 ", runs past the end of the image at %" PRIu64 ")",
		    path, img->extra_devices, img->devt_off, img->size);
		goto out_close;
	}
	return 0;

out_close:
	close(img->fd);
	img->fd = -1;
	return ret;
}

static int image_close(struct image *img)
{
	int ret = 0;

	if (img->fd >= 0 && close(img->fd) < 0) {
		ret = -errno;
		err("%s: close failed: %s", img->path, strerror(-ret));
	}
	img->fd = -1;
	return ret;
}

static void print_tag(const uint8_t *tag)
{
	size_t len = strnlen((const char *)tag, DEVT_TAG_SIZE);
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		if (tag[i] < 0x20 || tag[i] >= 0x7f || tag[i] == '"' ||
		    tag[i] == '\\')
			printf("\\x%02x", tag[i]);
		else
			putchar(tag[i]);
	}
	putchar('"');
}

static int cmd_list(struct image *img)
{
	uint8_t slot[DEVT_SLOT_SIZE];
	unsigned int i;
	int ret;

	for (i = 0; i < img->extra_devices; i++) {
		uint64_t off = img->devt_off + (uint64_t)i * DEVT_SLOT_SIZE;

		ret = read_full(img->fd, slot, sizeof(slot), off);
		if (ret) {
			err("%s: cannot read device slot %u: %s", img->path,
			    i, strerror(-ret));
			return ret;
		}
		printf("device %u: blocks %" PRIu32 " mapped_blkaddr %" PRIu32
		       " tag ", i, get_le32(slot + DEVT_BLOCKS),
		       get_le32(slot + DEVT_MAPPED_BLKADDR));
		print_tag(slot + DEVT_TAG);
		putchar('\n');
	}
	if (fflush(stdout) || ferror(stdout)) {
		err("write error on stdout");
		return -EIO;
	}
	return 0;
}

static int cmd_set(struct image *img, unsigned int dev, const char *tag)
{
	uint8_t field[DEVT_TAG_SIZE] = { 0 };
	uint64_t off;
	int ret;

	if (dev >= img->extra_devices) {
		err("%s: no device %u (the image has %u extra device%s)",
		    img->path, dev, img->extra_devices,
		    img->extra_devices == 1 ? "" : "s");
		return -ENODEV;
	}
	memcpy(field, tag, strlen(tag));
	off = img->devt_off + (uint64_t)dev * DEVT_SLOT_SIZE + DEVT_TAG;

	if (off + DEVT_TAG_SIZE <= EROFS_BLKSIZ) {
		/*
		 * The usual case: the device table sits right after the
		 * superblock, so the tag is covered by the checksum.  Patch
		 * block 0 in memory and write it back in one go.
		 */
		memcpy(img->blk0 + off, field, DEVT_TAG_SIZE);
		if (img->has_chksum)
			put_le32(img->sb + SB_CHECKSUM, sb_checksum(img));
		ret = write_full(img->fd, img->blk0, EROFS_BLKSIZ, 0);
	} else if (off < EROFS_BLKSIZ) {
		err("%s: device slot %u straddles block 0; refusing",
		    img->path, dev);
		return -EINVAL;
	} else {
		/* Outside block 0: the checksum does not change. */
		ret = write_full(img->fd, field, DEVT_TAG_SIZE, off);
	}
	if (ret) {
		err("%s: write failed: %s", img->path, strerror(-ret));
		return ret;
	}
	if (fsync(img->fd) < 0) {
		ret = -errno;
		err("%s: fsync failed: %s", img->path, strerror(-ret));
		return ret;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int *val)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT16_MAX)
		return -EINVAL;
	*val = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct image img = { .fd = -1 };
	bool list = false, have_dev = false;
	unsigned int dev = 0;
	const char *path, *tag = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_uint(optarg, &dev)) {
				err("invalid device index '%s'", optarg);
				return EXIT_USAGE;
			}
			have_dev = true;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	argc -= optind;
	argv += optind;
	if (argc != (list ? 1 : 2) || (list && have_dev)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	path = argv[0];
	if (!list) {
		tag = argv[1];
		if (!tag_valid(tag, strlen(tag))) {
			err("invalid tag '%s': need 1..%d printable ASCII bytes without spaces, '/', '\\', quotes, '$', '*', '?', a leading '.' or \"..\"",
			    tag, TAG_MAX);
			return EXIT_USAGE;
		}
	}

	ret = image_open(&img, path, !list);
	if (ret)
		return EXIT_FAILURE;
	if (list)
		ret = cmd_list(&img);
	else
		ret = cmd_set(&img, dev, tag);
	if (image_close(&img) && !ret)
		ret = -EIO;
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
