# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: build one nydus data blob (sections 3 and 4 of nydus-rafs-v6.md).

import hashlib
import struct

from rafs_common import (BLKSZ, align4k, compress, digest, crc32c, tar_header,
                         COMP_NONE, COMP_TOC_FLAG, BLOB_META_MAGIC,
                         BF_ALIGNED, BF_CHUNK_INFO_V2, BF_INLINED_CHUNK_DIGEST,
                         BF_HAS_TAR_HEADER, BF_HAS_TOC, BF_CAP_TAR_TOC,
                         BF_BATCH, BF_SEPARATE, BF_ZRAN,
                         CI2_COMPRESSED, CI2_BATCH, CI2_HAS_CRC32, CI2_ZRAN)


class ChunkRef:
    """One chunk of a blob's ci array (shared by every file that uses it)."""
    __slots__ = ("blob", "index", "u_off", "u_size", "c_off", "c_size",
                 "compressed", "digest", "crc", "has_crc", "batch",
                 "batch_off", "zran", "zran_off", "file_offset", "data")

    def __init__(self):
        self.batch = None
        self.batch_off = 0
        self.zran = None
        self.zran_off = 0
        self.has_crc = False
        self.data = None


class BlobBuilder:
    def __init__(self, opts, chunk_dict):
        self.o = opts
        self.dict = chunk_dict          # digest -> ChunkRef, image-wide
        self.cdata = bytearray()        # compressed space: chunk data
        self.u_end = 0                  # uncompressed space so far
        self.chunks = []                # ci order
        self.batch_buf = bytearray()
        self.batch_members = []
        self.batches = []               # (compressed_size, uncompressed_size)
        self.zran_ctx = b""             # zran: contexts + dictionaries
        self.zran_count = 0
        self.index = None               # blob table index, set at the end
        self.id = None
        self.files = {}                 # output file name -> bytes
        self.meta_id = None

    # ------------------------------------------------------------ chunks
    def add_file(self, ino, data):
        cs = self.o.chunk_size
        refs = []
        for off in range(0, len(data), cs):
            piece = data[off:off + cs]
            dg = digest(self.o.digester, piece)
            ref = self.dict.get(dg)
            if ref is None:
                single = len(data) <= cs
                ref = self._new_chunk(piece, dg, single)
                ref.file_offset = off
                self.dict[dg] = ref
            refs.append(ref)
        ino.chunks = refs
        return refs

    def _new_ref(self, piece, dg):
        r = ChunkRef()
        r.blob = self
        r.index = len(self.chunks)
        r.u_size = len(piece)
        r.u_off = self.u_end
        self.u_end = align4k(self.u_end + len(piece))
        r.digest = dg
        r.crc = crc32c(piece)
        r.has_crc = self.o.crc32 and r.crc != 0
        if self.o.emit_uncompressed:
            r.data = bytes(piece)
        self.chunks.append(r)
        return r

    def _new_chunk(self, piece, dg, single):
        bs = self.o.batch_size
        if bs and single and len(piece) < bs // 2:
            if self.batch_buf and len(self.batch_buf) + len(piece) >= bs:
                self._flush_batch()
            r = self._new_ref(piece, dg)
            r.has_crc = False       # the data field holds the batch position
            r.batch = len(self.batches)
            r.batch_off = len(self.batch_buf)
            r.c_off = len(self.cdata)
            r.c_size = 0
            r.compressed = True
            self.batch_buf += piece
            self.batch_members.append(r)
            return r
        self._flush_batch()
        r = self._new_ref(piece, dg)
        c = compress(self.o.compressor, piece)
        if len(c) < len(piece):
            r.compressed = True
        else:
            c, r.compressed = bytes(piece), False
        r.c_off = len(self.cdata)
        r.c_size = len(c)
        self.cdata += c
        return r

    def _flush_batch(self):
        if not self.batch_buf:
            return
        raw = bytes(self.batch_buf)
        c = compress(self.o.compressor, raw)
        if len(c) >= len(raw):
            c = raw
        self.cdata += c
        self.batches.append((len(c), len(raw)))
        self.batch_buf = bytearray()
        self.batch_members = []

    # -------------------------------------------------------------- meta
    @property
    def v2(self):
        return self.o.ci_version == 2

    def features(self):
        f = BF_ALIGNED
        if self.v2:
            f |= BF_CHUNK_INFO_V2
        if self.batches:
            f |= BF_BATCH
        if self.o.zran:
            f |= BF_ZRAN | BF_SEPARATE
        elif self.o.separate:
            f |= BF_SEPARATE
        if self.o.toc:
            f |= (BF_INLINED_CHUNK_DIGEST | BF_HAS_TAR_HEADER | BF_HAS_TOC |
                  BF_CAP_TAR_TOC)
        return f

    def ci_record(self, r):
        if not self.v2:
            us, cs = r.u_size - 1, r.c_size - 1
            if us >= 1 << 24 or cs >= 1 << 24 or r.u_off >= 1 << 44 \
                    or r.c_off >= 1 << 40:
                raise ValueError("chunk does not fit a v1 record")
            u = (r.u_off & 0x00000FFFFFFFF000) | ((us >> 20) & 0xF) << 8 | \
                (us & 0xFFFFF) << 44
            c = r.c_off | ((cs >> 20) & 0xF) << 40 | (cs & 0xFFFFF) << 44
            return struct.pack("<QQ", u, c)
        flags = 0
        data = 0
        if r.compressed:
            flags |= CI2_COMPRESSED
        if r.batch is not None:
            flags |= CI2_BATCH
            data = r.batch << 32 | r.batch_off
        elif r.zran is not None:
            flags |= CI2_ZRAN
            data = r.zran << 32 | r.zran_off
        elif r.has_crc:
            flags |= CI2_HAS_CRC32
            data = r.crc
        if r.c_size >= 1 << 24 or r.c_off >= 1 << 40:
            raise ValueError("chunk does not fit a v2 record "
                             "(c_size %d)" % r.c_size)
        u = (r.u_off >> 12) | (r.u_size - 1) << 32 | flags << 56
        c = r.c_off | r.c_size << 40
        return struct.pack("<QQQ", u, c, data)

    def ci_bytes(self):
        """(uncompressed ci data, extra table offset, size, count)."""
        recs = b"".join(self.ci_record(r) for r in self.chunks)
        if self.batches:
            tab = b"".join(struct.pack("<II32x", c, u)
                           for c, u in self.batches)
            return recs + tab, len(recs), len(tab), len(self.batches)
        if self.o.zran:
            return (recs + self.zran_ctx, len(recs), len(self.zran_ctx),
                    self.zran_count)
        return recs, 0, 0, 0

    def finish(self):
        """Lay out the blob file(s) up to, not including, the ToC."""
        self._flush_batch()
        o = self.o
        self.data_end = len(self.cdata)
        ci, xoff, xsize, xcount = self.ci_bytes()
        self.ci_usize = len(ci)
        self.ci_comp = o.ci_compressor
        cci = compress(self.ci_comp, ci) if self.ci_comp != COMP_NONE else ci
        if len(cci) >= len(ci):
            cci, self.ci_comp = ci, COMP_NONE
        self.ci_csize = len(cci)
        sep = o.separate or o.zran
        if sep:
            self.data_blob = bytes(self.cdata)   # the chunk data alone
            out = bytearray()
        else:
            out = self.cdata
            if o.toc:
                out += tar_header("image.blob", self.data_end)
        self.toc = []
        if o.toc and not sep:
            self.toc.append(self._toc_entry(
                "image.blob", COMP_NONE, hashlib.sha256(self.cdata[:self.data_end]).digest(),
                self.data_end, self.data_end, self.u_end))
        self.ci_offset = len(out)
        hdr = bytearray(BLKSZ)
        struct.pack_into("<IIIIQQQQQI", hdr, 0, BLOB_META_MAGIC,
                         self.features(), self.ci_comp, len(self.chunks),
                         self.ci_offset, self.ci_csize, self.ci_usize,
                         xoff, xsize, xcount)
        struct.pack_into("<I", hdr, 4092, BLOB_META_MAGIC)
        self.header = bytes(hdr)
        out += cci + self.header
        if o.toc:
            out += tar_header("blob.meta", len(cci) + BLKSZ)
            self.toc.append(self._toc_entry(
                "blob.meta", self.ci_comp, hashlib.sha256(ci).digest(),
                self.ci_offset, len(cci), len(ci)))
            self.toc.append(self._toc_entry(
                "blob.meta.header", COMP_NONE,
                hashlib.sha256(self.header).digest(),
                self.ci_offset + len(cci), BLKSZ, BLKSZ))
            dgs = b"".join(r.digest for r in self.chunks)
            off = len(out)
            out += dgs + tar_header("blob.digest", len(dgs))
            self.toc.append(self._toc_entry(
                "blob.digest", COMP_NONE, hashlib.sha256(dgs).digest(),
                off, len(dgs), len(dgs)))
        self.out = out
        self.toc_size = 0
        self.toc_digest = bytes(32)

    @staticmethod
    def _toc_entry(name, comp, dg, off, csize, usize):
        e = bytearray(128)
        struct.pack_into("<II", e, 0, COMP_TOC_FLAG[comp], 0)
        nb = name.encode()
        e[8:8 + len(nb)] = nb
        e[24:56] = dg
        struct.pack_into("<QQQ", e, 56, off, csize, usize)
        return bytes(e)

    def add_inline_bootstrap(self, boot):
        """Append the zstd-compressed bootstrap as image.boot."""
        from rafs_common import COMP_ZSTD
        self.inline_at = len(self.out)
        z = compress(COMP_ZSTD, boot)
        self.out += z + tar_header("image.boot", len(z))
        self.toc.append(self._toc_entry("image.boot", COMP_ZSTD,
                                        hashlib.sha256(boot).digest(),
                                        self.inline_at, len(z), len(boot)))

    def seal(self):
        """Append the ToC and name the blob(s) by their sha256."""
        if self.o.toc:
            ents = b"".join(self.toc)
            th = tar_header("rafs.blob.toc", len(ents))
            self.out += ents + th
            self.toc_size = len(ents) + len(th)
            self.toc_digest = hashlib.sha256(ents + th).digest()
        self.out = bytes(self.out)
        if self.o.separate or self.o.zran:
            self.meta_id = hashlib.sha256(self.out).hexdigest()
            self.files[self.meta_id] = self.out
            if self.o.zran:
                self.id = hashlib.sha256(self.data_blob).hexdigest()
            else:
                self.id = hashlib.sha256(self.data_blob).hexdigest()
            self.files[self.id] = self.data_blob
            self.size = len(self.data_blob)
        else:
            self.id = hashlib.sha256(self.out).hexdigest()
            self.files[self.id] = self.out
            self.size = len(self.out)

    def compressed_size(self, inlined=False):
        if self.o.separate or self.o.zran:
            return len(self.data_blob)
        if inlined:
            return getattr(self, "inline_at", len(self.out))
        return len(self.out) if self.o.toc else self.data_end

    def uncompressed_space(self):
        buf = bytearray(self.u_end)
        for r in self.chunks:
            buf[r.u_off:r.u_off + r.u_size] = r.data
        return bytes(buf)
