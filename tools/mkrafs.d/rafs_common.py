# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: constants, digests, CRC32C, compressors and small helpers.
# Written from the format description in nydus-rafs-v6.md and the EROFS
# on-disk format; it shares no code with the fscached decoder.

import ctypes
import hashlib
import struct
import zlib

BLKSZ = 4096

# Compressor enum of the blob table / ci header (section 2.4).
COMP_NONE, COMP_LZ4, COMP_GZIP, COMP_ZSTD = 0, 1, 2, 3
COMP_BY_NAME = {"none": COMP_NONE, "lz4_block": COMP_LZ4, "gzip": COMP_GZIP,
                "zstd": COMP_ZSTD}
COMP_NAME = {v: k for k, v in COMP_BY_NAME.items()}
# RAFS super flags bit of each compressor (section 2.2).
COMP_SB_FLAG = {COMP_NONE: 0x1, COMP_LZ4: 0x2, COMP_GZIP: 0x40, COMP_ZSTD: 0x80}
# ToC entry flags (section 3.8).
COMP_TOC_FLAG = {COMP_NONE: 0x1, COMP_ZSTD: 0x2, COMP_LZ4: 0x4}

DIGEST_BLAKE3, DIGEST_SHA256 = 0, 1

# RAFS super flags.
SBF_HASH_BLAKE3 = 0x4
SBF_HASH_SHA256 = 0x8
SBF_EXPLICIT_UID_GID = 0x10
SBF_HAS_XATTR = 0x20
SBF_INLINED_CHUNK_DIGEST = 0x100
SBF_ENCRYPTION_NONE = 0x01000000

# BlobFeatures.
BF_ALIGNED = 0x1
BF_INLINED_FS_META = 0x2
BF_CHUNK_INFO_V2 = 0x4
BF_ZRAN = 0x8
BF_SEPARATE = 0x10
BF_INLINED_CHUNK_DIGEST = 0x20
BF_BATCH = 0x80
BF_HAS_TAR_HEADER = 0x10000000
BF_HAS_TOC = 0x20000000
BF_CAP_TAR_TOC = 0x40000000

# ci v2 flags (bits 56..63 of uncomp_info) and chunk table flags.
CI2_COMPRESSED = 0x01
CI2_ZRAN = 0x02
CI2_BATCH = 0x04
CI2_HAS_CRC32 = 0x10
CT_COMPRESSED = 0x1
CT_BATCH = 0x8
CT_HAS_CRC32 = 0x10

BLOB_META_MAGIC = 0xB10BB10B


def align(n, a):
    return (n + a - 1) // a * a


def align4k(n):
    return align(n, BLKSZ)


# ---------------------------------------------------------------- CRC32C
def _crc32c_table():
    poly = 0x82F63B78       # Castagnoli, reflected
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        tab.append(c)
    return tab


_CRC_TAB = _crc32c_table()


def crc32c_py(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    tab = _CRC_TAB
    for b in data:
        c = tab[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


_ext2fs = None
try:
    _ext2fs = ctypes.CDLL("libext2fs.so.2")
    _ext2fs.ext2fs_crc32c_le.restype = ctypes.c_uint32
    _ext2fs.ext2fs_crc32c_le.argtypes = [ctypes.c_uint32, ctypes.c_char_p,
                                         ctypes.c_size_t]
    # ext2fs's crc32c_le takes and returns the raw register (no final xor).
    if (_ext2fs.ext2fs_crc32c_le(0xFFFFFFFF, b"123456789", 9) ^ 0xFFFFFFFF) \
            != 0xE3069283:
        _ext2fs = None
except OSError:
    _ext2fs = None


def crc32c(data):
    """CRC-32C (iSCSI): libext2fs's when it agrees with ours, else ours."""
    if _ext2fs is not None and len(data) > 256:
        return _ext2fs.ext2fs_crc32c_le(0xFFFFFFFF, bytes(data),
                                        len(data)) ^ 0xFFFFFFFF
    return crc32c_py(data)


assert crc32c_py(b"123456789") == 0xE3069283


# ---------------------------------------------------------------- BLAKE3
class _Blake3:
    lib = None

    @classmethod
    def load(cls):
        if cls.lib is None:
            lib = ctypes.CDLL("libblake3.so.0")
            lib.blake3_hasher_init.argtypes = [ctypes.c_void_p]
            lib.blake3_hasher_update.argtypes = [ctypes.c_void_p,
                                                 ctypes.c_char_p,
                                                 ctypes.c_size_t]
            lib.blake3_hasher_finalize.argtypes = [ctypes.c_void_p,
                                                   ctypes.c_char_p,
                                                   ctypes.c_size_t]
            cls.lib = lib
        return cls.lib


def blake3(data):
    lib = _Blake3.load()
    h = ctypes.create_string_buffer(2048)   # blake3_hasher is 1912 bytes
    out = ctypes.create_string_buffer(32)
    lib.blake3_hasher_init(h)
    data = bytes(data)
    lib.blake3_hasher_update(h, data, len(data))
    lib.blake3_hasher_finalize(h, out, 32)
    return out.raw


def sha256(data):
    return hashlib.sha256(data).digest()


def digest(algo, data):
    return blake3(data) if algo == DIGEST_BLAKE3 else sha256(data)


# ---------------------------------------------------------- compressors
_zstd_c = None


def compress(algo, data):
    """Return the compressed form of data (may be larger than data)."""
    global _zstd_c
    if algo == COMP_NONE:
        return bytes(data)
    if algo == COMP_LZ4:
        import lz4.block
        return lz4.block.compress(bytes(data), mode="default",
                                  store_size=False)
    if algo == COMP_ZSTD:
        import zstandard
        if _zstd_c is None:
            _zstd_c = zstandard.ZstdCompressor(level=3, write_checksum=False,
                                               write_content_size=True)
        return _zstd_c.compress(bytes(data))
    if algo == COMP_GZIP:
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress(bytes(data)) + c.flush()
    raise ValueError("unknown compressor %d" % algo)


def decompress(algo, data, usize):
    if algo == COMP_NONE:
        out = bytes(data)
    elif algo == COMP_LZ4:
        import lz4.block
        out = lz4.block.decompress(bytes(data), uncompressed_size=usize)
    elif algo == COMP_ZSTD:
        import zstandard
        out = zstandard.ZstdDecompressor().decompress(bytes(data),
                                                      max_output_size=usize)
    elif algo == COMP_GZIP:
        out = zlib.decompressobj(31).decompress(bytes(data), usize)
    else:
        raise ValueError("unknown compressor %d" % algo)
    if len(out) != usize:
        raise ValueError("decompressed %d bytes, want %d" % (len(out), usize))
    return out


def tar_header(name, size):
    """512-byte GNU tar header (typeflag '0') that follows its data."""
    h = bytearray(512)
    nb = name.encode()
    h[0:len(nb)] = nb
    h[124:136] = b"%011o\0" % size
    h[148:156] = b" " * 8
    h[156] = ord("0")
    h[257:265] = b"ustar  \0"
    s = sum(h)
    h[148:156] = b"%06o\0 " % s
    return bytes(h)


def parse_size(s):
    s = s.strip()
    mult = 1
    if s[-1:] in ("K", "k"):
        mult, s = 1024, s[:-1]
    elif s[-1:] in ("M", "m"):
        mult, s = 1024 * 1024, s[:-1]
    elif s[-1:] in ("G", "g"):
        mult, s = 1024 ** 3, s[:-1]
    return int(s, 0) * mult


def le(fmt, *v):
    return struct.pack("<" + fmt, *v)
