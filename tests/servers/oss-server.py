# SPDX-License-Identifier: GPL-2.0
"""A small Aliyun OSS server for the backend tests (helper of tests/servers/oss).

  oss-server.py start WORKDIR   bind 127.0.0.1:0, detach, wait until the
                                server answers, write WORKDIR/env (and print it)

Objects live in WORKDIR/storage/<bucket>/<key>.  GET (Range: 206 +
Content-Range), HEAD, PUT and DELETE of objects; every request must carry a
valid OSS V1 signature, either the Authorization header

    OSS <AccessKeyId>:base64(hmac-sha1(secret, VERB\\nContent-MD5\\nContent-Type\\n
        Date\\n<x-oss-* headers><canonicalized resource>))

or presigned-URL query parameters (OSSAccessKeyId, Expires, Signature).  The
bucket comes from the Host header (<bucket>.<endpoint>) unless Host is an IP
address, "localhost" or a bare region endpoint (oss-*), then from the path.
Errors are OSS-style XML (and the x-oss-err header for HEAD).
"""

import base64
import email.utils
import hashlib
import hmac
import http.server
import os
import re
import secrets
import signal
import socketserver
import sys
import time
import urllib.parse

PROG = "oss"
BUCKET = "fscached-test"
MAX_SKEW = 15 * 60

# Query parameters that are sub-resources (signed as part of the resource);
# other query parameters are not signed.  As in the OSS documentation and SDKs.
SUBRESOURCES = frozenset("""
acl append asyncFetch bucketInfo callback callback-var cname comp continuation-token
cors delete encryption endTime group img inventory inventoryId lifecycle link live
location logging metaQuery objectInfo objectMeta partNumber policy position qos
qosInfo referer regionList replication replicationLocation replicationProgress
requestPayment resourceGroup response-cache-control response-content-disposition
response-content-encoding response-content-language response-content-type
response-expires restore security-token sequential startTime stat status style
styleName symlink tagging transferAcceleration udf uploadId uploads versionId
versioning versions vod website worm wormExtend wormId x-oss-ac-forward-allow
x-oss-ac-source-ip x-oss-ac-subnet-mask x-oss-ac-vpc-id x-oss-async-process
x-oss-process x-oss-request-payer x-oss-traffic-limit
""".split())

MESSAGES = {
    "AccessDenied": "You have no right to access this object because of bucket acl.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match "
                             "the signature you provided. Check your key and "
                             "signing method.",
    "InvalidAccessKeyId": "The OSS Access Key Id you provided does not exist in "
                          "our records.",
    "RequestTimeTooSkewed": "The difference between the request time and the "
                            "current time is too large.",
    "NoSuchBucket": "The specified bucket does not exist.",
    "NoSuchKey": "The specified key does not exist.",
    "InvalidRange": "The requested range cannot be satisfied",
    "InvalidDigest": "The Content-MD5 you specified is not valid.",
    "BadDigest": "The Content-MD5 you specified did not match what we received.",
    "MethodNotAllowed": "The specified method is not allowed against this resource.",
    "InvalidArgument": "Invalid argument.",
    "InvalidObjectName": "The specified object is not valid.",
}

STATUS = {
    "AccessDenied": 403, "SignatureDoesNotMatch": 403, "InvalidAccessKeyId": 403,
    "RequestTimeTooSkewed": 403, "NoSuchBucket": 404, "NoSuchKey": 404,
    "InvalidRange": 416, "InvalidDigest": 400, "BadDigest": 400,
    "MethodNotAllowed": 405, "InvalidArgument": 400, "InvalidObjectName": 400,
    "InternalError": 500,
}


class OSSError(Exception):
    def __init__(self, code, message=None, **extra):
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.extra = extra


def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def is_ip_or_local(host):
    if host in ("localhost", "") or host.startswith("["):
        return True
    return re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", host) is not None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"

    def version_string(self):
        return "AliyunOSS"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("%s [%s] %s\n" % (self.address_string(),
                                           self.log_date_time_string(),
                                           fmt % args))

    # --- plumbing -----------------------------------------------------------

    def send_common(self, status, length, ctype=None, extra=()):
        self.send_response(status)
        self.send_header("x-oss-request-id", self.request_id)
        self.send_header("Content-Length", str(length))
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def send_error_xml(self, err):
        status = STATUS.get(err.code, 400)
        fields = [("Code", err.code), ("Message", err.message),
                  ("RequestId", self.request_id),
                  ("HostId", self.headers.get("Host", ""))]
        fields += list(err.extra.items())
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n' +
                "".join(f"  <{k}>{xml_escape(v)}</{k}>\n" for k, v in fields) +
                "</Error>\n").encode()
        extra = [("x-oss-ec", err.code)]
        if self.command == "HEAD":
            extra.append(("x-oss-err", base64.b64encode(body).decode()))
        if err.code == "InvalidRange" and "size" in err.extra:
            extra.append(("Content-Range", f"bytes */{err.extra['size']}"))
        self.drain_body()
        self.send_common(status, len(body), "application/xml", extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def drain_body(self):
        """Read (and drop) a request body we do not want, keeping the
        connection usable; close it if the body is too large or unknown."""
        if getattr(self, "body_done", False):
            return
        self.body_done = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return
        n = int(self.headers.get("Content-Length") or 0)
        if n > (1 << 20):
            self.close_connection = True
            return
        while n > 0:
            chunk = self.rfile.read(min(n, 65536))
            if not chunk:
                break
            n -= len(chunk)

    def read_body_to(self, f):
        """Copy the request body to f; return its MD5 digest."""
        md5 = hashlib.md5()
        self.body_done = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                self.copy_n(f, md5, size)
                self.rfile.readline(8)
        else:
            self.copy_n(f, md5, int(self.headers.get("Content-Length") or 0))
        return md5.digest()

    def copy_n(self, f, md5, n):
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 20))
            if not chunk:
                raise ConnectionError("request body ended early")
            md5.update(chunk)
            f.write(chunk)
            n -= len(chunk)

    # --- request parsing and authentication -------------------------------------

    def locate(self):
        """Set self.bucket, self.key (decoded), self.query (list of pairs)."""
        raw_path, _, raw_query = self.path.partition("?")
        if raw_path.startswith(("http://", "https://")):
            raw_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
        self.query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        path = urllib.parse.unquote(raw_path)
        host = self.headers.get("Host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        hostname = hostname.lower()
        first = hostname.split(".", 1)[0]
        if (not is_ip_or_local(hostname) and "." in hostname and
                not first.startswith("oss-")):
            self.bucket = first
            self.key = path[1:]
        else:
            parts = path[1:].split("/", 1)
            self.bucket = parts[0]
            self.key = parts[1] if len(parts) > 1 else ""

    def canonical_resource(self):
        res = f"/{self.bucket}/{self.key}" if self.bucket else "/"
        subs = []
        for k, v in self.query:
            if k in SUBRESOURCES:
                subs.append(f"{k}={v}" if v else k)
        if subs:
            res += "?" + "&".join(sorted(subs))
        return res

    def string_to_sign(self, date):
        h = self.headers
        oss = {}
        for name in h.keys():
            ln = name.lower()
            if ln.startswith("x-oss-"):
                oss[ln] = ",".join(v.strip() for v in h.get_all(name))
        return "\n".join([self.command, h.get("Content-MD5", ""),
                          h.get("Content-Type", ""), date] +
                         [f"{k}:{oss[k]}" for k in sorted(oss)] +
                         [self.canonical_resource()])

    def authenticate(self):
        srv = self.server
        auth = self.headers.get("Authorization")
        q = dict(self.query)
        if auth is None and "Signature" in q:
            ak = q.get("OSSAccessKeyId", "")
            sig = q["Signature"]
            expires = q.get("Expires", "")
            if not expires.isdigit():
                raise OSSError("AccessDenied", "Expires is not a number.")
            date = expires
        elif auth is None:
            raise OSSError("AccessDenied", "AccessDenied: anonymous access "
                           "is not allowed (no Authorization header).")
        else:
            m = re.fullmatch(r"OSS ([^:\s]+):(\S+)", auth.strip())
            if not m:
                raise OSSError("InvalidArgument", "Authorization header is "
                               "invalid (this server knows only OSS V1).")
            ak, sig = m.groups()
            date = self.headers.get("Date") or self.headers.get("x-oss-date")
            if not date:
                raise OSSError("AccessDenied", "Date or x-oss-date header is "
                               "required.")
            stamp = self.headers.get("x-oss-date") or date
            try:
                t = email.utils.parsedate_to_datetime(stamp).timestamp()
            except (TypeError, ValueError):
                raise OSSError("AccessDenied", f"Invalid date: {stamp}")
            if abs(t - time.time()) > MAX_SKEW:
                raise OSSError("RequestTimeTooSkewed", RequestTime=stamp,
                               ServerTime=email.utils.formatdate(usegmt=True),
                               MaxAllowedSkewMilliseconds=MAX_SKEW * 1000)
        if ak != srv.access_key_id:
            raise OSSError("InvalidAccessKeyId", OSSAccessKeyId=ak)
        sts = self.string_to_sign(date)
        want = base64.b64encode(hmac.new(srv.access_key_secret.encode(),
                                         sts.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(want, sig):
            raise OSSError("SignatureDoesNotMatch", OSSAccessKeyId=ak,
                           SignatureProvided=sig, StringToSign=sts,
                           StringToSignBytes=" ".join(f"{b:02x}" for b in sts.encode()))
        if auth is None and int(q["Expires"]) < time.time():
            raise OSSError("AccessDenied", "Request has expired.",
                           Expires=q["Expires"],
                           ServerTime=email.utils.formatdate(usegmt=True))

    # --- objects --------------------------------------------------------------

    def object_path(self):
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", self.bucket or ""):
            raise OSSError("NoSuchBucket", BucketName=self.bucket)
        bdir = os.path.join(self.server.storage, self.bucket)
        if not os.path.isdir(bdir):
            raise OSSError("NoSuchBucket", BucketName=self.bucket)
        if not self.key:
            raise OSSError("MethodNotAllowed", "This test server has no bucket "
                           "operations.")
        parts = self.key.split("/")
        if any(p in ("", ".", "..") for p in parts) or "\0" in self.key:
            raise OSSError("InvalidObjectName", ObjectName=self.key)
        return os.path.join(bdir, *parts)

    def etag(self, path, st):
        k = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        cache = self.server.etags
        e = cache.get(k)
        if e is None:
            md5 = hashlib.md5()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    md5.update(chunk)
            e = '"%s"' % md5.hexdigest().upper()
            cache[k] = e
        return e

    def parse_range(self, size):
        """(start, end) inclusive, None for the whole object."""
        r = self.headers.get("Range")
        if not r:
            return None
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", r)
        if not m or (m.group(1) == "" and m.group(2) == ""):
            return None     # malformed or several ranges: whole object, like OSS
        a, b = m.groups()
        if a == "":
            n = int(b)
            if n == 0:
                raise OSSError("InvalidRange", size=size)
            return (max(0, size - n), size - 1)
        a = int(a)
        b = size - 1 if b == "" else min(int(b), size - 1)
        if a >= size:
            raise OSSError("InvalidRange", size=size)
        if b < a:
            return None
        return (a, b)

    def do_get_head(self):
        path = self.object_path()
        try:
            f = open(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise OSSError("NoSuchKey", Key=self.key)
        with f:
            st = os.fstat(f.fileno())
            size = st.st_size
            rng = self.parse_range(size)
            extra = [("ETag", self.etag(path, st)),
                     ("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True)),
                     ("Accept-Ranges", "bytes"),
                     ("x-oss-object-type", "Normal"),
                     ("x-oss-storage-class", "Standard")]
            if rng:
                start, end = rng
                extra.append(("Content-Range", f"bytes {start}-{end}/{size}"))
                status, length = 206, end - start + 1
            else:
                status, start, length = 200, 0, size
            ctype = dict(self.query).get("response-content-type",
                                         "application/octet-stream")
            self.drain_body()
            self.send_common(status, length, ctype, extra)
            if self.command == "GET" and length:
                self.wfile.flush()
                self.connection.sendfile(f, start, length)

    def do_put_object(self):
        path = self.object_path()
        md5_hdr = self.headers.get("Content-MD5")
        if md5_hdr is not None:
            try:
                want = base64.b64decode(md5_hdr, validate=True)
            except ValueError:
                want = b""
            if len(want) != 16:
                raise OSSError("InvalidDigest")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.oss-upload.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            with open(tmp, "wb") as f:
                got = self.read_body_to(f)
            if md5_hdr is not None and got != want:
                raise OSSError("BadDigest")
            os.rename(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.send_common(200, 0, None, [("ETag", '"%s"' % got.hex().upper()),
                                        ("Content-MD5", base64.b64encode(got).decode())])

    def do_delete_object(self):
        path = self.object_path()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.drain_body()
        self.send_common(204, 0)

    def handle_request(self, action):
        self.request_id = secrets.token_hex(12).upper()
        self.body_done = False
        try:
            self.locate()
            self.authenticate()
            action()
        except OSSError as e:
            self.send_error_xml(e)
        except (ConnectionError, ValueError) as e:
            self.log_message("bad request: %s", e)
            self.close_connection = True
        except OSError as e:
            self.log_message("error: %s", e)
            self.send_error_xml(OSSError("InternalError", str(e)))
            self.close_connection = True

    def do_GET(self):
        self.handle_request(self.do_get_head)

    def do_HEAD(self):
        self.handle_request(self.do_get_head)

    def do_PUT(self):
        self.handle_request(self.do_put_object)

    def do_DELETE(self):
        self.handle_request(self.do_delete_object)

    def do_POST(self):
        def refuse():
            raise OSSError("MethodNotAllowed")
        self.handle_request(refuse)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def shell_quote(v):
    if re.fullmatch(r"[A-Za-z0-9_./:+@%=,-]+", v):
        return v
    return "'" + v.replace("'", "'\\''") + "'"


def die(msg, code=1):
    sys.stderr.write(f"{PROG}: error: {msg}\n")
    sys.exit(code)


def probe(port, deadline):
    """The server answers an anonymous request with an OSS AccessDenied."""
    import http.client
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", f"/{BUCKET}/")
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status == 403 and b"<Code>AccessDenied</Code>" in body
        except OSError:
            time.sleep(0.05)
    return False


def start(workdir):
    workdir = os.path.abspath(workdir)
    storage = os.path.join(workdir, "storage")
    os.makedirs(os.path.join(storage, BUCKET), exist_ok=True)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    ak = "LTAI" + "".join(secrets.choice(alnum) for _ in range(20))
    sk = "".join(secrets.choice(alnum) for _ in range(30))

    srv = Server(("127.0.0.1", 0), Handler)
    srv.storage = storage
    srv.access_key_id = ak
    srv.access_key_secret = sk
    srv.etags = {}
    port = srv.server_address[1]

    log = os.open(os.path.join(workdir, "oss.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(null)
            os.close(log)
            signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
            signal.signal(signal.SIGINT, lambda *a: os._exit(0))
            srv.serve_forever(poll_interval=3600)
        finally:
            os._exit(1)
    os.close(log)
    srv.socket.close()
    pidfile = os.path.join(workdir, "oss.pid")
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.rename(pidfile + ".tmp", pidfile)
    if not probe(port, time.monotonic() + 30):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        die(f"the OSS server did not answer (see {workdir}/oss.log)")
    env = [("OSS_ENDPOINT", f"127.0.0.1:{port}"),
           ("OSS_URL", f"http://127.0.0.1:{port}"),
           ("OSS_BUCKET", BUCKET),
           ("OSS_ACCESS_KEY_ID", ak),
           ("OSS_ACCESS_KEY_SECRET", sk)]
    text = "".join(f"{k}={shell_quote(v)}\n" for k, v in env)
    with open(os.path.join(workdir, "env.tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(workdir, "env.tmp"), os.path.join(workdir, "env"))
    sys.stdout.write(text)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "start":
        start(sys.argv[2])
    else:
        die("usage: oss-server.py start WORKDIR", 2)
