# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: zlib's inflate through ctypes, for what Python's zlib module does
# not expose: Z_BLOCK stops at deflate block boundaries (ZRan checkpoints)
# and inflatePrime (starting a raw inflate mid-byte).

import ctypes

Z_OK, Z_STREAM_END, Z_BUF_ERROR = 0, 1, -5
Z_NO_FLUSH, Z_BLOCK = 0, 5


class ZStream(ctypes.Structure):
    _fields_ = [("next_in", ctypes.c_void_p), ("avail_in", ctypes.c_uint),
                ("total_in", ctypes.c_ulong),
                ("next_out", ctypes.c_void_p), ("avail_out", ctypes.c_uint),
                ("total_out", ctypes.c_ulong),
                ("msg", ctypes.c_char_p), ("state", ctypes.c_void_p),
                ("zalloc", ctypes.c_void_p), ("zfree", ctypes.c_void_p),
                ("opaque", ctypes.c_void_p), ("data_type", ctypes.c_int),
                ("adler", ctypes.c_ulong), ("reserved", ctypes.c_ulong)]


_z = ctypes.CDLL("libz.so.1")
_z.zlibVersion.restype = ctypes.c_char_p
_VER = _z.zlibVersion()
_P = ctypes.POINTER(ZStream)
_z.inflateInit2_.argtypes = [_P, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
_z.inflate.argtypes = [_P, ctypes.c_int]
_z.inflateEnd.argtypes = [_P]
_z.inflateReset.argtypes = [_P]
_z.inflatePrime.argtypes = [_P, ctypes.c_int, ctypes.c_int]
_z.inflateSetDictionary.argtypes = [_P, ctypes.c_char_p, ctypes.c_uint]


class Inflater:
    def __init__(self, wbits):
        self.s = ZStream()
        r = _z.inflateInit2_(ctypes.byref(self.s), wbits, _VER,
                             ctypes.sizeof(ZStream))
        if r != Z_OK:
            raise RuntimeError("inflateInit2 %d" % r)

    def __del__(self):
        _z.inflateEnd(ctypes.byref(self.s))


def checkpoints(gz):
    """Inflate a (multi-member) gzip file with Z_BLOCK.

    Returns (output bytes, checkpoints, members).  A checkpoint is
    (in_pos, out_pos, bits, prev_byte, member) at a deflate block boundary;
    members is [(in_start, in_end, out_start, out_end)] per gzip member."""
    inp = ctypes.create_string_buffer(bytes(gz), len(gz))
    base = ctypes.addressof(inp)
    outbuf = ctypes.create_string_buffer(1 << 16)
    out = bytearray()
    cps = []
    members = []
    inf = Inflater(31)
    s = inf.s
    pos = 0
    while pos < len(gz):
        if not any(gz[pos:pos + 2]):   # trailing zero padding
            break
        _z.inflateReset(ctypes.byref(s))
        s.next_in = base + pos
        s.avail_in = len(gz) - pos
        m_in, m_out = pos, len(out)
        mi = len(members)
        while True:
            s.next_out = ctypes.addressof(outbuf)
            s.avail_out = len(outbuf)
            r = _z.inflate(ctypes.byref(s), Z_BLOCK)
            n = len(outbuf) - s.avail_out
            out += outbuf.raw[:n]
            if r == Z_STREAM_END:
                break
            if r not in (Z_OK, Z_BUF_ERROR) or (r == Z_BUF_ERROR and n == 0
                                                 and s.avail_in == 0):
                raise RuntimeError("inflate error %d" % r)
            dt = s.data_type
            if dt & 128:
                ip = s.next_in - base
                bits = dt & 7
                cps.append((ip, len(out), bits, gz[ip - 1] if bits else 0,
                            mi))
        pos = s.next_in - base
        members.append((m_in, pos, m_out, len(out)))
    return bytes(out), cps, members


def inflate_at(data, dct, prev_byte, bits, out_len):
    """Raw-inflate out_len bytes of data, after priming bits of prev_byte
    and setting the dictionary (the ZRan context decode)."""
    inf = Inflater(-15)
    s = inf.s
    if bits:
        r = _z.inflatePrime(ctypes.byref(s), bits & 7,
                            prev_byte >> (8 - (bits & 7)))
        if r != Z_OK:
            raise RuntimeError("inflatePrime %d" % r)
    if dct:
        r = _z.inflateSetDictionary(ctypes.byref(s), bytes(dct), len(dct))
        if r != Z_OK:
            raise RuntimeError("inflateSetDictionary %d" % r)
    inp = ctypes.create_string_buffer(bytes(data), len(data))
    outbuf = ctypes.create_string_buffer(max(out_len, 1))
    s.next_in = ctypes.addressof(inp)
    s.avail_in = len(data)
    s.next_out = ctypes.addressof(outbuf)
    s.avail_out = out_len
    r = _z.inflate(ctypes.byref(s), Z_NO_FLUSH)
    got = out_len - s.avail_out
    if r not in (Z_OK, Z_STREAM_END) or got != out_len:
        raise RuntimeError("context inflate: %d, %d of %d bytes"
                           % (r, got, out_len))
    return outbuf.raw[:out_len]
