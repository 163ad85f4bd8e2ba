#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A fault-injecting HTTP/1.1 file server for tests (started by tests/servers/faulty).

Serves the files of --root on 127.0.0.1 (or --bind ADDR, for a test host
in a network namespace) with keep-alive and single byte ranges;
the first path segment picks a behaviour:  GET|HEAD /<mode>/<name>

  ok            200, or 206 with Content-Range for a Range request
  503x<N>       the first N requests for (mode, name) answer 503, then ok
  403x<N>       the same with 403 (an expired signed URL)
  /v2/<repo>/<mode>/blobs/sha256:<hex>: a registry answering 307 to /<mode>/<hex>
  429x<N>       the same with 429 and Retry-After: 1
  stall<S>      the first request sleeps S seconds before answering
  stallx<N>-<S> the first N requests do
  reset         headers and half the body, then a TCP reset (every time)
  resetx<N>     only the first N times
  truncate      Content-Length of the whole range, half the bytes, then close
  short         206 whose (consistent) headers name fewer bytes than asked
  overlong      206 whose (consistent) headers name more bytes than asked
  full200       ignores Range: 200 with the whole file
  badrange      206 naming and carrying another range than asked
  corrupt       right headers and length, one byte flipped in the middle
  401 403 404   always that status

GET /_stats: JSON {"<mode>/<name>": requests, ...}; POST /_reset: clear it.
Requests with another first segment get 400.  The port (bound as 0) is
written to --port-file once the server listens.
"""

import argparse
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import http.server
import urllib.parse

CHUNK = 1 << 16


class FaultyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_range(header, size):
    """One 'bytes=' range -> (start, end) inclusive; None: serve the whole
    file; 'unsatisfiable': answer 416."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None        # multiple or malformed ranges: ignored (RFC 9110 allows it)
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0 or size == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return (start, min(end, size - 1))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fscached-faulty/1"
    mode_re = re.compile(r"(ok|full200|short|overlong|badrange|corrupt|truncate|reset|401|403|404)"
                         r"|(503|429|403|reset)x(\d+)|stall(\d+(?:\.\d+)?)|stallx(\d+)-(\d+(?:\.\d+)?)")

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # --- small replies -----------------------------------------------------

    def simple(self, code, text, headers=()):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def count(self, key):
        with self.server.lock:
            n = self.server.counts.get(key, 0) + 1
            self.server.counts[key] = n
        return n

    # --- verbs ---------------------------------------------------------------

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        if urllib.parse.urlsplit(self.path).path == "/_reset":
            with self.server.lock:
                self.server.counts.clear()
            self.simple(200, "reset")
        else:
            self.simple(405, "method not allowed", [("Allow", "GET, HEAD")])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path == "/_stats":
            with self.server.lock:
                body = json.dumps(self.server.counts, sort_keys=True)
            self.simple(200, body, [("Cache-Control", "no-store")])
            return
        # A registry that redirects every blob to /<mode>/<hex>, the mode
        # being the last component of the repository name.
        reg = re.fullmatch(r"/v2/(.+)/blobs/sha256:([0-9a-f]+)", path)
        if reg:
            self.count("v2/" + reg.group(2))
            mode = reg.group(1).rsplit("/", 1)[-1]
            self.simple(307, "redirect",
                        [("Location", "http://%s/%s/%s" % (self.headers.get("Host"),
                                                          mode, reg.group(2)))])
            return
        parts = path.lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1]:
            self.simple(400, "usage: /<mode>/<name>")
            return
        mode, name = parts
        m = self.mode_re.fullmatch(mode)
        if not m:
            self.simple(400, "unknown mode " + mode)
            return
        n = self.count(mode + "/" + name)

        # Behaviours that do not need the file.
        if mode in ("401", "403", "404"):
            headers = [("WWW-Authenticate", 'Basic realm="faulty"')] if mode == "401" else []
            self.simple(int(mode), "status " + mode, headers)
            return
        if m.group(2) in ("503", "429", "403") and n <= int(m.group(3)):
            headers = [("Retry-After", "1")] if m.group(2) == "429" else []
            self.simple(int(m.group(2)), "fault %s (request %d of %s)" % (m.group(2), n, m.group(3)),
                        headers)
            return
        if m.group(4) is not None and n == 1:
            time.sleep(float(m.group(4)))
        if m.group(5) is not None and n <= int(m.group(5)):
            time.sleep(float(m.group(6)))

        # The file.
        rel = os.path.normpath(name)
        if rel.startswith("..") or os.path.isabs(rel):
            self.simple(404, "not found")
            return
        fpath = os.path.join(self.server.root, rel)
        try:
            f = open(fpath, "rb")
        except OSError:
            self.simple(404, "not found")
            return
        with f:
            if not os.path.isfile(fpath):
                self.simple(404, "not found")
                return
            size = os.fstat(f.fileno()).st_size
            self.serve(f, size, mode, m, n)

    # --- file replies --------------------------------------------------------

    def serve(self, f, size, mode, m, n):
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "unsatisfiable" and mode != "full200":
            self.simple(416, "range not satisfiable", [("Content-Range", "bytes */%d" % size)])
            return
        if mode == "full200":
            rng = None
        # What the reply claims (status, start, end) and how it goes wrong.
        if rng is None:
            status, start, end = 200, 0, size - 1
        else:
            status, (start, end) = 206, rng
        length = end - start + 1 if size else 0

        if mode == "short":
            # Fewer bytes than asked, headers consistent with them.
            status = 206
            if size == 0:
                status = 200
            elif length > 1:
                end = start + length // 2 - 1
        elif mode == "overlong" and rng is not None:
            extra = max(1, length)
            if end + 1 < size:
                end = min(size - 1, end + extra)
            else:
                start = max(0, start - extra)
        elif mode == "badrange" and size > 0:
            status = 206
            start, end = self.other_range(start, end, size)

        sent_len = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(sent_len))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        reset = mode == "reset" or (m.group(2) == "reset" and n <= int(m.group(3)))
        truncate = mode == "truncate"
        if reset or truncate:
            self.send_header("Connection", "close")
        self.end_headers()

        if self.command == "HEAD":
            if reset or truncate:
                self.wfile.flush()
                self.abort(reset)
            return
        body_len = sent_len
        if reset or truncate:
            body_len = sent_len // 2
        flip = start + sent_len // 2 if mode == "corrupt" and sent_len > 0 else -1
        f.seek(start)
        left = body_len
        pos = start
        while left > 0:
            data = f.read(min(CHUNK, left))
            if not data:
                break
            if pos <= flip < pos + len(data):
                i = flip - pos
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            self.wfile.write(data)
            pos += len(data)
            left -= len(data)
        if reset or truncate:
            self.wfile.flush()
            self.abort(reset)

    @staticmethod
    def other_range(start, end, size):
        """A range of (about) the same length that is not [start, end]."""
        length = end - start + 1
        if start + length + length <= size:
            s = start + length
        elif start - length >= 0:
            s = start - length
        elif start + 1 + length <= size:
            s = start + 1
        elif start >= 1:
            s = start - 1
        else:                       # the whole file was asked: a shorter tail
            if size == 1:
                return 0, 0         # nothing else exists
            return 1, size - 1
        return s, s + length - 1

    def abort(self, reset):
        """Close the connection: with a TCP RST (reset) or a FIN (truncate)."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.connection.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()
    srv = FaultyServer((args.bind, 0), Handler)
    srv.root = os.path.abspath(args.root)
    srv.counts = {}
    srv.lock = threading.Lock()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    sys.stderr.write("faulty server on %s:%d serving %s\n" % (args.bind, srv.server_address[1], srv.root))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
