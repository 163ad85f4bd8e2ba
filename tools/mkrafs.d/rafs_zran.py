# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: ZRan blobs (section 3.7 of nydus-rafs-v6.md).  Chunk data stays in
# the original .tar.gz; the ci array points into zlib random-access contexts
# cut at deflate block boundaries.

import hashlib
import io
import struct
import tarfile

from rafs_common import digest
from rafs_tree import _split
from zlibctl import checkpoints, inflate_at

WINDOW = 32768
MAX_CTX_OUT = 2 << 20          # a context's output stays below ~2 MiB
MAX_CTX_IN = 1 << 20           # and its input below ~1 MiB


def _lookup(tree, parts):
    node = tree
    for p in parts:
        if not node.is_dir() or p not in node.children:
            return None
        node = node.children[p]
    return node


def build(bb, src, tree, o):
    gz = open(src, "rb").read()
    out, cps, members = checkpoints(gz)
    bb.cdata = bytearray(gz)
    # the last member of the tar with each path is the file in the tree
    last = {}
    tf = tarfile.open(fileobj=io.BytesIO(out), mode="r:")
    mlist = [m for m in tf if m.isreg()]
    for m in mlist:
        last[tuple(_split(m.name))] = m
    ctxs = []
    cur = None
    cs = o.chunk_size
    ci_pos = 0                      # checkpoint cursor (they are sorted)

    def member_of(pos):
        for i, (_, _, os_, oe) in enumerate(members):
            if os_ <= pos < oe:
                return i
        raise ValueError("offset %d outside the gzip data" % pos)

    done = set()
    for m in mlist:
        parts = tuple(_split(m.name))
        if last[parts] is not m:
            continue
        ino = _lookup(tree, parts)
        if ino is None or not ino.is_reg() or id(ino) in done:
            continue
        done.add(id(ino))
        data = out[m.offset_data:m.offset_data + m.size]
        ino.sha256 = hashlib.sha256(data).hexdigest()
        ino.data = None
        refs = []
        for off in range(0, m.size, cs):
            uo = m.offset_data + off
            ln = min(cs, m.size - off)
            ue = uo + ln
            piece = out[uo:ue]
            dg = digest(o.digester, piece)
            ref = bb.dict.get(dg)
            if ref is not None:
                refs.append(ref)
                continue
            mi = member_of(uo)
            if member_of(ue - 1) != mi:
                raise ValueError("%s: a chunk crosses gzip members "
                                 "(not supported)" % m.name)
            while ci_pos + 1 < len(cps) and cps[ci_pos + 1][1] <= uo:
                ci_pos += 1
            cp = cps[ci_pos]
            if cp[1] > uo or cp[4] != mi:
                raise ValueError("no deflate block boundary before %d" % uo)
            end_in = members[mi][1]
            for c in cps[ci_pos:]:
                if c[4] != mi:
                    break
                if c[1] >= ue:
                    end_in = c[0]
                    break
            if cur is None or cur["member"] != mi or \
                    ue - cur["out"] > MAX_CTX_OUT or \
                    cp[0] - cur["in"] > MAX_CTX_IN:
                ms = members[mi][2]
                cur = {"member": mi, "in": cp[0], "out": cp[1],
                       "bits": cp[2], "byte": cp[3],
                       "dict": out[max(ms, cp[1] - WINDOW):cp[1]],
                       "in_end": end_in, "out_end": ue}
                ctxs.append(cur)
            cur["in_end"] = max(cur["in_end"], end_in)
            cur["out_end"] = max(cur["out_end"], ue)
            r = bb._new_ref(piece, dg)
            r.file_offset = off
            r.compressed = True
            r.zran = len(ctxs) - 1
            r.zran_off = uo - cur["out"]
            r.c_off = cp[0]
            r.c_size = end_in - cp[0]
            bb.dict[dg] = r
            refs.append(r)
        ino.chunks = refs

    tab = b""
    dicts = b""
    for c in ctxs:
        in_len = c["in_end"] - c["in"]
        out_len = c["out_end"] - c["out"]
        got = inflate_at(gz[c["in"]:c["in_end"]], c["dict"], c["byte"],
                         c["bits"], out_len)
        if got != out[c["out"]:c["out_end"]]:
            raise AssertionError("zran context self-check failed")
        tab += struct.pack("<QQQIIIBB2x", c["in"], c["out"], len(dicts),
                           in_len, out_len, len(c["dict"]), c["byte"],
                           c["bits"])
        dicts += c["dict"]
    bb.zran_ctx = tab + dicts
    bb.zran_count = len(ctxs)
