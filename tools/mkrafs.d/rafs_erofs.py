# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: write the RAFS v6 bootstrap, an EROFS image with the RAFS
# extended superblock, device table, blob table and chunk table
# (section 2 of nydus-rafs-v6.md; EROFS on-disk format of erofs_fs.h).

import hashlib
import stat
import struct

from rafs_common import (BLKSZ, align, align4k, COMP_SB_FLAG, DIGEST_BLAKE3,
                         SBF_HASH_BLAKE3, SBF_HASH_SHA256, SBF_EXPLICIT_UID_GID,
                         SBF_HAS_XATTR, SBF_INLINED_CHUNK_DIGEST,
                         SBF_ENCRYPTION_NONE, BF_INLINED_CHUNK_DIGEST,
                         CT_COMPRESSED, CT_BATCH, CT_HAS_CRC32)
from rafs_tree import bfs

EROFS_MAGIC = 0xE0F5E1E2
FEATURE_COMPAT_RAFS_V6 = 0x40000000
INCOMPAT_CHUNKED_FILE = 0x4
INCOMPAT_DEVICE_TABLE = 0x8
DEVT_SLOTOFF = 11                   # 11 * 128 = 0x580
EXT_SB_OFF = 0x480
DEVT_OFF = DEVT_SLOTOFF * 128
MAPPED_BLKADDR_ALIGN = 0x80000      # 512 KiB, as current nydus-image

LAYOUT_FLAT_PLAIN = 0
LAYOUT_FLAT_INLINE = 2
LAYOUT_CHUNK_BASED = 4
CHUNK_FORMAT_INDEXES = 0x20

FT = {stat.S_IFREG: 1, stat.S_IFDIR: 2, stat.S_IFCHR: 3, stat.S_IFBLK: 4,
      stat.S_IFIFO: 5, stat.S_IFSOCK: 6, stat.S_IFLNK: 7}

XATTR_PREFIXES = [  # (index, prefix), longest match first
    (2, b"system.posix_acl_access"), (3, b"system.posix_acl_default"),
    (1, b"user."), (4, b"trusted."), (5, b"lustre."), (6, b"security.")]


def xattr_body(xattrs, warn):
    """Inline xattr area (ibody header + entries), b"" if none."""
    ents = b""
    for name, value in xattrs:
        for idx, pfx in XATTR_PREFIXES:
            if name.startswith(pfx):
                break
        else:
            warn("xattr %r has no EROFS prefix, skipped" % name)
            continue
        sfx = name[len(pfx):]
        e = struct.pack("<BBH", len(sfx), idx, len(value)) + sfx + value
        ents += e + bytes(align(len(e), 4) - len(e))
    if not ents:
        return b""
    return bytes(12) + ents


def dir_blocks(names_nids_types):
    """Pack sorted (name, nid, ftype) into EROFS dir blocks.

    Returns (list of block byte strings, i_size)."""
    blocks = []
    cur = []
    used = 0

    def flush():
        n = len(cur)
        nameoff = 12 * n
        d = b""
        names = b""
        for name, nid, ft in cur:
            d += struct.pack("<QHBB", nid, nameoff, ft, 0)
            nameoff += len(name)
            names += name
        blocks.append(d + names)

    for ent in names_nids_types:
        ln = 12 + len(ent[0])
        if used + ln > BLKSZ:
            flush()
            cur, used = [], 0
        cur.append(ent)
        used += ln
    if cur:
        flush()
    size = BLKSZ * (len(blocks) - 1) + len(blocks[-1])
    return blocks, size


def dir_size(names):
    """i_size of a directory with these entry names ('.' and '..' included)."""
    size = 0
    for n in names:
        ln = 12 + len(n)
        if size % BLKSZ + ln > BLKSZ:
            size = align4k(size)
        size += ln
    return size


def encode_dev(major, minor):
    return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)


def next_pow2(n):
    return 1 << (n - 1).bit_length()


class Bootstrap:
    def __init__(self, opts, root, blobs, warn):
        self.o = opts
        self.root = root
        self.blobs = blobs          # BlobBuilder list, index order
        self.warn = warn

    # ------------------------------------------------------------ layout
    def _collect(self):
        walk = bfs(self.root)
        self.order = []             # distinct inodes in BFS order
        self.paths = []             # (path, inode, parent) every dirent
        seen = set()
        nlinks = {}
        for path, ino, parent in walk:
            self.paths.append((path, ino, parent))
            if id(ino) in seen:
                nlinks[id(ino)] += 1
                continue
            seen.add(id(ino))
            nlinks[id(ino)] = 1
            self.order.append(ino)
        for ino in self.order:
            if ino.is_dir():
                ino.nlink = 2 + sum(1 for c in ino.children.values()
                                    if c.is_dir())
            else:
                ino.nlink = nlinks[id(ino)]
        self.parent = {}
        for path, ino, parent in walk:
            if ino.is_dir():
                self.parent[id(ino)] = parent
        for ino in self.order:
            if ino.is_dir():
                names = [b".", b".."] + list(ino.children)
                ino.dsize = dir_size(sorted(names))
        self.has_xattr = False
        for i, ino in enumerate(self.order):
            ino.ino = i + 1
            ino.xbody = xattr_body(ino.xattrs, self.warn)
            if ino.xbody:
                self.has_xattr = True
            ino.compact = self.o.compact_inodes and self._compact_ok(ino)

    def _compact_ok(self, ino):
        return (ino.uid < 1 << 16 and ino.gid < 1 << 16 and
                ino.nlink < 1 << 16 and self._isize(ino) < 1 << 32 and
                ino.mtime == self.build_time and ino.mtime_nsec == 0)

    def _isize(self, ino):
        if ino.is_dir():
            return ino.dsize
        return ino.size

    def _layout(self, meta_addr):
        # The inode area starts one block past meta_blkaddr so that the
        # root's nid is 128, never 0 (as nydus-image does).
        cur = meta_addr + BLKSZ
        for ino in self.order:
            core = (32 if ino.compact else 64) + len(ino.xbody)
            ino.layout = LAYOUT_FLAT_PLAIN
            ino.tail = 0
            if ino.is_reg():
                need = align(core, 8) + 8 * len(ino.chunks)
                ino.layout = LAYOUT_CHUNK_BASED
            elif ino.is_dir() or stat.S_ISLNK(ino.mode):
                size = ino.dsize if ino.is_dir() else len(ino.target)
                tail = size % BLKSZ
                if tail and core + tail <= BLKSZ:
                    ino.layout = LAYOUT_FLAT_INLINE
                    ino.tail = tail
                    need = core + tail
                    if cur % BLKSZ + need > BLKSZ:
                        cur = align4k(cur)
                else:
                    need = core
            else:
                need = core
            if cur % BLKSZ + core > BLKSZ:   # keep the inode in one block
                cur = align4k(cur)
            ino.off = cur
            ino.nid = (cur - meta_addr) // 32
            cur = align(cur + need, 32)
        # directory / symlink data blocks after the inode area
        cur = align4k(cur)
        for ino in self.order:
            ino.blkaddr = 0
            if ino.is_dir() or stat.S_ISLNK(ino.mode):
                size = ino.dsize if ino.is_dir() else len(ino.target)
                nblk = (size - ino.tail + BLKSZ - 1) // BLKSZ
                if nblk:
                    ino.blkaddr = cur // BLKSZ
                    cur += nblk * BLKSZ
        return cur

    # ------------------------------------------------------------- inode
    def _chunk_format(self, ino):
        cs = self.o.chunk_size
        ecs = cs
        ch = ino.chunks
        if self.o.erofs_chunk_mode == "pow2" and ino.size > cs:
            cont = all(ch[i].blob is ch[i - 1].blob and
                       ch[i].u_off == ch[i - 1].u_off + cs
                       for i in range(1, len(ch)))
            if cont:
                ecs = next_pow2(ino.size)
        ino.erofs_chunk_size = ecs
        return CHUNK_FORMAT_INDEXES | (ecs.bit_length() - 1 - 12)

    def _inode_bytes(self, ino):
        if ino.is_reg():
            u = self._chunk_format(ino)
        elif stat.S_ISCHR(ino.mode) or stat.S_ISBLK(ino.mode):
            u = encode_dev(*ino.rdev)
        else:
            u = ino.blkaddr
        size = self._isize(ino)
        icount = 0 if not ino.xbody else (len(ino.xbody) - 12) // 4 + 1
        if ino.compact:
            fmt = 0 | ino.layout << 1
            b = struct.pack("<HHHHIIIIHH4x", fmt, icount, ino.mode & 0xFFFF,
                            ino.nlink, size, 0, u, ino.ino, ino.uid, ino.gid)
        else:
            fmt = 1 | ino.layout << 1
            b = struct.pack("<HHHHQIIIIQII16x", fmt, icount,
                            ino.mode & 0xFFFF, 0, size, u, ino.ino, ino.uid,
                            ino.gid, ino.mtime, ino.mtime_nsec, ino.nlink)
        b += ino.xbody
        if ino.is_reg():
            b += bytes(align(len(b), 8) - len(b))
            for r in ino.chunks:
                ci = r.index
                b += struct.pack("<HHI", ci & 0xFFFF,
                                 (r.blob.index + 1) | ((ci >> 16) & 0xFF) << 8,
                                 r.u_off // BLKSZ)
        return b

    def _dir_data(self, ino):
        ents = [(b".", ino.nid, 2),
                (b"..", self.parent[id(ino)].nid, 2)]
        for name, c in ino.children.items():
            ents.append((name, c.nid, FT[stat.S_IFMT(c.mode)]))
        ents.sort(key=lambda e: e[0])
        blocks, size = dir_blocks(ents)
        assert size == ino.dsize, (size, ino.dsize)
        return blocks

    # ------------------------------------------------------------ tables
    def blob_entry(self, b, inline=False):
        e = bytearray(256)
        bid = ("x" * 64) if inline else b.id
        e[0:64] = bid.encode()
        feats = b.features()
        if inline:
            from rafs_common import BF_INLINED_FS_META
            feats |= BF_INLINED_FS_META
        struct.pack_into("<IIIIII", e, 64, b.index, self.o.chunk_size,
                         len(b.chunks), self.o.compressor, self.o.digester,
                         feats)
        struct.pack_into("<QQ", e, 88, b.compressed_size(inline), b.u_end)
        struct.pack_into("<II", e, 104, 0 if inline else b.toc_size,
                         b.ci_comp)
        struct.pack_into("<QQQ", e, 112, b.ci_offset, b.ci_csize, b.ci_usize)
        if not inline:
            e[136:168] = b.toc_digest
        if b.meta_id:
            e[168:200] = bytes.fromhex(b.meta_id)
            struct.pack_into("<Q", e, 200, len(b.out))
        return bytes(e)

    def build(self, inline=False):
        o = self.o
        self.build_time = o.build_time
        self._collect()
        nblob = len(self.blobs)
        bt_off = align4k(DEVT_OFF + 128 * nblob)
        bt_size = 256 * nblob
        prefetch = []
        for p in o.prefetch:
            node = self._lookup(p)
            if node is None:
                self.warn("prefetch path %s not in the image, ignored" % p)
            else:
                prefetch.append(node)
        pf_off = bt_off + bt_size if prefetch else 0
        pf_size = 4 * len(prefetch)
        meta_addr = align4k(bt_off + bt_size + pf_size)
        end = self._layout(meta_addr)
        if self.order[0].nid >= 1 << 16:
            raise ValueError("root nid does not fit 16 bits")

        img = bytearray(end)
        for ino in self.order:
            b = self._inode_bytes(ino)
            img[ino.off:ino.off + len(b)] = b
            data = None
            if ino.is_dir():
                blocks = self._dir_data(ino)
            elif stat.S_ISLNK(ino.mode):
                t = ino.target
                blocks = [t[i:i + BLKSZ] for i in range(0, len(t), BLKSZ)]
            else:
                continue
            if ino.layout == LAYOUT_FLAT_INLINE:
                data = blocks.pop()
                p = ino.off + len(b)
                img[p:p + len(data)] = data
            for i, blk in enumerate(blocks):
                p = (ino.blkaddr + i) * BLKSZ
                img[p:p + len(blk)] = blk

        # chunk table: records unique per (digest, blob), sorted by both
        recs = {}
        for ino in self.order:
            if ino.is_reg():
                for r in ino.chunks:
                    recs.setdefault((r.digest, r.blob.index), r)
        ct = bytearray()
        for (dg, bi), r in sorted(recs.items()):
            fl = 0
            if r.compressed:
                fl |= CT_COMPRESSED
            if r.batch is not None:
                fl |= CT_BATCH
            if r.has_crc:
                fl |= CT_HAS_CRC32
            ct += dg + struct.pack("<IIIIQQQII", bi, fl, r.c_size, r.u_size,
                                   r.c_off, r.u_off, r.file_offset, r.index,
                                   r.crc)
        ct_off = align4k(len(img))
        img += bytes(ct_off - len(img)) + ct
        img += bytes(align4k(len(img)) - len(img))

        # block 0: superblock, extended superblock, device table
        blocks_total = sum(b.u_end // BLKSZ for b in self.blobs)
        sb = struct.pack("<IIIBBHQQIIII16s16sIHHH38x", EROFS_MAGIC, 0,
                         FEATURE_COMPAT_RAFS_V6, 12, 0, self.order[0].nid,
                         len(self.order), self.build_time, 0, blocks_total,
                         meta_addr // BLKSZ, 0, bytes(16), bytes(16),
                         INCOMPAT_CHUNKED_FILE | INCOMPAT_DEVICE_TABLE, 0,
                         nblob, DEVT_SLOTOFF)
        assert len(sb) == 128
        img[0x400:0x480] = sb
        flags = COMP_SB_FLAG[o.compressor] | SBF_EXPLICIT_UID_GID
        flags |= SBF_HASH_BLAKE3 if o.digester == DIGEST_BLAKE3 \
            else SBF_HASH_SHA256
        if self.has_xattr:
            flags |= SBF_HAS_XATTR
        if nblob and all(b.features() & BF_INLINED_CHUNK_DIGEST
                         for b in self.blobs):
            flags |= SBF_INLINED_CHUNK_DIGEST
        if not o.no_encryption_flag:
            flags |= SBF_ENCRYPTION_NONE
        ext = struct.pack("<QQIIQQQI", flags, bt_off, bt_size, o.chunk_size,
                          ct_off, len(ct), pf_off, pf_size)
        img[EXT_SB_OFF:EXT_SB_OFF + len(ext)] = ext
        pos = end_before_devs = ct_off + len(ct)
        pos = align4k(pos)
        for i, b in enumerate(self.blobs):
            mb = (pos + MAPPED_BLKADDR_ALIGN - 1) // MAPPED_BLKADDR_ALIGN * \
                MAPPED_BLKADDR_ALIGN // BLKSZ
            cnt = b.u_end // BLKSZ
            pos = (mb + cnt) * BLKSZ
            tag = ("x" * 64) if inline else b.id
            slot = struct.pack("<64sII56x", tag.encode(), cnt, mb)
            img[DEVT_OFF + 128 * i:DEVT_OFF + 128 * (i + 1)] = slot
            ent = self.blob_entry(b, inline)
            img[bt_off + 256 * i:bt_off + 256 * (i + 1)] = ent
        for i, node in enumerate(prefetch):
            struct.pack_into("<I", img, pf_off + 4 * i, node.nid)
        # uuid from the content (deterministic)
        u = hashlib.sha256(bytes(img) + o.seed.encode()).digest()[:16]
        img[0x430:0x440] = u
        self.image = bytes(img)
        return self.image

    def _lookup(self, path):
        node = self.root
        for p in path.encode().split(b"/"):
            if not p:
                continue
            if not node.is_dir() or p not in node.children:
                return None
            node = node.children[p]
        return node
