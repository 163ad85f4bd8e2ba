# SPDX-License-Identifier: GPL-2.0
#
# mkrafs: read layers (directories, .tar, .tar.gz) into trees and merge them
# like overlayfs / OCI layer application (".wh.NAME", ".wh..wh..opq").

import os
import stat
import tarfile

WH_PREFIX = b".wh."
WH_OPAQUE = b".wh..wh..opq"

KIND_BY_FMT = {stat.S_IFREG: "file", stat.S_IFDIR: "dir",
               stat.S_IFLNK: "symlink", stat.S_IFCHR: "chr",
               stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo",
               stat.S_IFSOCK: "sock"}


class Inode:
    """One inode; hard links are several dirents naming the same object."""

    def __init__(self, mode, uid=0, gid=0, mtime=0, mtime_nsec=0):
        self.mode = mode            # full st_mode, type bits included
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.mtime_nsec = mtime_nsec
        self.size = 0
        self.target = b""           # symlink target
        self.rdev = (0, 0)          # (major, minor)
        self.xattrs = []            # [(name bytes, value bytes)], sorted
        self.children = {}          # dirs: name bytes -> Inode
        self.whiteouts = set()      # dirs: names this layer deletes below
        self.opaque = False
        self.path = None            # dir source: file to read
        self.data = None            # tar source: bytes
        self.layer = 0
        self.chunks = []            # [ChunkRef] filled by the blob builder
        # bootstrap layout, filled later
        self.nid = None
        self.ino = None

    @property
    def kind(self):
        return KIND_BY_FMT[stat.S_IFMT(self.mode)]

    def is_dir(self):
        return stat.S_ISDIR(self.mode)

    def is_reg(self):
        return stat.S_ISREG(self.mode)

    def read(self):
        if self.data is not None:
            return self.data
        if self.path is not None:
            with open(self.path, "rb") as f:
                return f.read()
        return b""


def _read_xattrs(path):
    out = []
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in names:
        try:
            v = os.getxattr(path, n, follow_symlinks=False)
        except OSError:
            continue
        out.append((n.encode(), v))
    out.sort()
    return out


def _from_stat(st):
    return Inode(st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime),
                 st.st_mtime_ns % 1000000000)


def read_dir(top, layer):
    """A directory tree as one layer."""
    st = os.lstat(top)
    root = _from_stat(st)
    root.layer = layer
    root.xattrs = _read_xattrs(top)
    links = {}

    def walk(dirpath, node):
        with os.scandir(dirpath) as it:
            ents = sorted(it, key=lambda e: os.fsencode(e.name))
        for e in ents:
            name = os.fsencode(e.name)
            p = os.path.join(dirpath, e.name)
            st = os.lstat(p)
            if name == WH_OPAQUE:
                node.opaque = True
                continue
            if name.startswith(WH_PREFIX):
                node.whiteouts.add(name[len(WH_PREFIX):])
                continue
            key = (st.st_dev, st.st_ino)
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1 \
                    and key in links:
                node.children[name] = links[key]
                continue
            ino = _from_stat(st)
            ino.layer = layer
            ino.xattrs = _read_xattrs(p)
            if stat.S_ISREG(st.st_mode):
                ino.size = st.st_size
                ino.path = p
            elif stat.S_ISLNK(st.st_mode):
                ino.target = os.fsencode(os.readlink(p))
                ino.size = len(ino.target)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                ino.rdev = (os.major(st.st_rdev), os.minor(st.st_rdev))
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                links[key] = ino
            node.children[name] = ino
            if stat.S_ISDIR(st.st_mode):
                walk(p, ino)

    walk(top, root)
    return root


def _split(name):
    parts = [p for p in name.encode("utf-8", "surrogateescape").split(b"/")
             if p not in (b"", b".")]
    if b".." in parts:
        raise ValueError("tar member with '..': %r" % name)
    return parts


_XATTR_PAX = "SCHILY.xattr."


def read_tar(path, layer):
    """A .tar / .tar.gz OCI layer."""
    root = Inode(stat.S_IFDIR | 0o755)
    root.layer = layer
    with tarfile.open(path, "r:*") as tf:
        for m in tf:
            parts = _split(m.name)
            if not parts:               # "./" itself: the root's metadata
                if m.isdir():
                    root.mode = stat.S_IFDIR | (m.mode & 0o7777)
                    root.uid, root.gid, root.mtime = m.uid, m.gid, int(m.mtime)
                continue
            parent = root
            for p in parts[:-1]:
                c = parent.children.get(p)
                if c is None or not c.is_dir():
                    c = Inode(stat.S_IFDIR | 0o755)
                    c.layer = layer
                    parent.children[p] = c
                parent = c
            name = parts[-1]
            if name == WH_OPAQUE:
                parent.opaque = True
                continue
            if name.startswith(WH_PREFIX):
                parent.whiteouts.add(name[len(WH_PREFIX):])
                continue
            if m.islnk():
                tgt = root
                for p in _split(m.linkname):
                    tgt = tgt.children.get(p) if tgt.is_dir() else None
                    if tgt is None:
                        raise ValueError("hard link %r to missing %r"
                                         % (m.name, m.linkname))
                parent.children[name] = tgt
                continue
            perm = m.mode & 0o7777
            if m.isreg():
                fmt = stat.S_IFREG
            elif m.isdir():
                fmt = stat.S_IFDIR
            elif m.issym():
                fmt = stat.S_IFLNK
            elif m.ischr():
                fmt = stat.S_IFCHR
            elif m.isblk():
                fmt = stat.S_IFBLK
            elif m.isfifo():
                fmt = stat.S_IFIFO
            else:
                continue
            old = parent.children.get(name)
            if fmt == stat.S_IFDIR and old is not None and old.is_dir():
                ino = old               # implicit dir made earlier: fill in
                ino.mode = fmt | perm
            else:
                ino = Inode(fmt | perm)
            ino.uid, ino.gid, ino.mtime = m.uid, m.gid, int(m.mtime)
            ino.layer = layer
            xa = []
            for k, v in (m.pax_headers or {}).items():
                if k.startswith(_XATTR_PAX):
                    xa.append((k[len(_XATTR_PAX):].encode("utf-8",
                               "surrogateescape"),
                               v.encode("utf-8", "surrogateescape")
                               if isinstance(v, str) else v))
            ino.xattrs = sorted(xa)
            if fmt == stat.S_IFREG:
                f = tf.extractfile(m)
                ino.data = f.read() if f else b""
                ino.size = len(ino.data)
            elif fmt == stat.S_IFLNK:
                ino.target = m.linkname.encode("utf-8", "surrogateescape")
                ino.size = len(ino.target)
            elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
                ino.rdev = (m.devmajor, m.devminor)
            parent.children[name] = ino
    return root


def read_layer(src, layer):
    if os.path.isdir(src):
        return read_dir(src, layer)
    return read_tar(src, layer)


def merge(lower, upper):
    """Apply layer tree upper onto merged tree lower (in place)."""
    if upper.opaque:
        lower.children = {}
    for w in upper.whiteouts:
        lower.children.pop(w, None)
    # the upper directory's own metadata wins
    lower.mode, lower.uid, lower.gid = upper.mode, upper.uid, upper.gid
    lower.mtime, lower.mtime_nsec = upper.mtime, upper.mtime_nsec
    lower.xattrs = upper.xattrs
    for name in sorted(upper.children):
        u = upper.children[name]
        lo = lower.children.get(name)
        if u.is_dir() and lo is not None and lo.is_dir() and lo is not u:
            merge(lo, u)
        else:
            lower.children[name] = _copy_dirs(u)


def _copy_dirs(node):
    """A layer's subtree with whiteout markers dropped (nothing is below)."""
    if node.is_dir():
        node.whiteouts = set()
        node.opaque = False
        for c in node.children.values():
            _copy_dirs(c)
    return node


def bfs(root):
    """[(path bytes, Inode, parent Inode)] in BFS order, children by name."""
    out = [(b"/", root, root)]
    i = 0
    while i < len(out):
        path, node, _ = out[i]
        i += 1
        if node.is_dir():
            for name in sorted(node.children):
                c = node.children[name]
                cp = (path if path.endswith(b"/") else path + b"/") + name
                out.append((cp, c, node))
    return out
