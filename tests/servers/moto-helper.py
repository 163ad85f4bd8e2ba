# SPDX-License-Identifier: GPL-2.0
"""Helper of tests/servers/moto: start moto's S3 server and store objects.

  moto-helper.py start WORKDIR PKGDIR   PKGDIR holds moto/ (the extracted
                                          trixie python3-moto dist-packages)
  moto-helper.py put WORKDIR KEY FILE

Only the standard library here (every import costs time inside UML): the
requests are signed with a small SigV4 implementation of our own.  The
self-test (moto-oss-selftest) checks the server with an independent signer,
curl --aws-sigv4.
"""

import datetime
import hashlib
import hmac
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import http.client

PROG = "moto"
HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
BUCKET = "fscached-test"
USER = "fscached-test"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Python modules moto's S3 and IAM server needs -> Debian (bookworm) package.
DEPS = {
    "boto3": "python3-boto3",
    "botocore": "python3-botocore",
    "flask": "python3-flask",
    "flask_cors": "python3-flask-cors",
    "werkzeug": "python3-werkzeug",
    "responses": "python3-responses",
    "xmltodict": "python3-xmltodict",
    "antlr4": "python3-antlr4",
    "dateutil": "python3-dateutil",
    "yaml": "python3-yaml",
    "jinja2": "python3-jinja2",
    "requests": "python3-requests",
    "cryptography": "python3-cryptography",
}


def die(msg, code=1):
    sys.stderr.write(f"{PROG}: error: {msg}\n")
    sys.exit(code)


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(method, host, path, query, headers, payload_hash, ak, sk,
                  service, region=REGION, now=None):
    """Return headers (dict) with x-amz-date, x-amz-content-sha256 and
    Authorization added.  path must already be URI-encoded; query is a
    list of (name, value) pairs, not encoded."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    h = {k.lower(): str(v).strip() for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    h["x-amz-content-sha256"] = payload_hash
    q = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}="
                 f"{urllib.parse.quote(v, safe='-_.~')}"
                 for k, v in sorted(query))
    names = sorted(h)
    canon = "\n".join([method, path, q,
                       "".join(f"{n}:{h[n]}\n" for n in names),
                       ";".join(names), payload_hash])
    scope = f"{day}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    key = _hmac(("AWS4" + sk).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, "
                          f"SignedHeaders={';'.join(names)}, Signature={sig}")
    return h


def request(port, method, path, query=(), body=b"", headers=None,
            ak="AKIAFSCACHEDSETUP", sk="setup", service="s3", timeout=30):
    host = f"127.0.0.1:{port}"
    if isinstance(body, (bytes, bytearray)):
        payload_hash = hashlib.sha256(body).hexdigest()
    else:
        payload_hash = body[1]      # (file object, sha256 hex, length)
    h = sigv4_headers(method, host, path, query, headers or {}, payload_hash,
                      ak, sk, service)
    if not isinstance(body, (bytes, bytearray)):
        h["content-length"] = str(body[2])
        body = body[0]
    url = path
    if query:
        url += "?" + urllib.parse.urlencode(list(query))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, url, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def iam(port, action, **params):
    body = urllib.parse.urlencode(
        dict(Action=action, Version="2010-05-08", **params)).encode()
    st, data = request(port, "POST", "/", body=body, service="iam",
                       headers={"content-type":
                                "application/x-www-form-urlencoded; charset=utf-8"})
    if st != 200:
        die(f"IAM {action} failed: HTTP {st}: {data[:300]!r}")
    return data.decode()


def xml_field(doc, name):
    m = re.search(f"<{name}>([^<]*)</{name}>", doc)
    if not m:
        die(f"no {name} in moto's answer: {doc[:300]!r}")
    return m.group(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def shell_quote(v):
    if re.fullmatch(r"[A-Za-z0-9_./:+@%=,-]+", v):
        return v
    return "'" + v.replace("'", "'\\''") + "'"


def start_server(workdir, pkgdir, port, log):
    env = dict(os.environ)
    env["PYTHONPATH"] = pkgdir + (":" + env["PYTHONPATH"]
                                  if env.get("PYTHONPATH") else "")
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
    # Moto must not pick up the caller's AWS settings or proxies.
    for k in list(env):
        if k.startswith("AWS_") or k.lower() in ("http_proxy", "https_proxy",
                                                 "all_proxy", "no_proxy"):
            del env[k]
    return subprocess.Popen(
        [sys.executable, os.path.join(HERE, "moto-server.py"),
         "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        env=env, cwd=workdir, start_new_session=True)


def wait_ready(proc, port, deadline):
    """True when moto answers on port, False if it exited."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/moto-api/")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return None


def cmd_start(workdir, pkgdir):
    missing = sorted({pkg for mod, pkg in DEPS.items()
                      if importlib.util.find_spec(mod) is None})
    if missing:
        die(f"missing Debian packages: {' '.join(missing)} "
            "(apt-get install them, see tools/install-deps)", 77)
    os.makedirs(workdir, exist_ok=True)
    pidfile = os.path.join(workdir, "moto.pid")
    # A loaded machine or a TCG guest starts Python slowly: a server that
    # is merely slow is waited for.
    start_s = int(os.environ.get("FSCACHED_SERVER_START_S", "120"))
    deadline = time.monotonic() + start_s
    proc = None
    with open(os.path.join(workdir, "moto.log"), "ab") as log:
        for _ in range(3):      # another process may grab the port first
            port = free_port()
            proc = start_server(workdir, pkgdir, port, log)
            with open(pidfile + ".tmp", "w") as f:
                f.write(f"{proc.pid}\n")
            os.rename(pidfile + ".tmp", pidfile)
            ready = wait_ready(proc, port, deadline)
            if ready:
                break
            if ready is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                die(f"moto did not answer within {start_s} s (see {workdir}/moto.log)")
            proc.wait()
        else:
            die(f"moto exited at start (see {workdir}/moto.log)")

    try:
        # The first 4 actions are not authenticated (INITIAL_NO_AUTH_ACTION_COUNT).
        iam(port, "CreateUser", UserName=USER)
        doc = iam(port, "CreateAccessKey", UserName=USER)
        ak = xml_field(doc, "AccessKeyId")
        sk = xml_field(doc, "SecretAccessKey")
        iam(port, "PutUserPolicy", UserName=USER, PolicyName="allow-all",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":'
                           '"Allow","Action":"*","Resource":"*"}]}')
        st, data = request(port, "PUT", "/" + BUCKET)
        if st != 200:
            die(f"creating bucket {BUCKET} failed: HTTP {st}: {data[:300]!r}")
        # From now on SigV4 is checked: prove it with the new key.
        st, data = request(port, "HEAD", "/" + BUCKET, ak=ak, sk=sk)
        if st != 200:
            die(f"signed HEAD of bucket {BUCKET} failed: HTTP {st}")
    except SystemExit:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    except OSError as e:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        die(f"talking to moto failed: {e}")

    env = [("S3_ENDPOINT", f"http://127.0.0.1:{port}"),
           ("S3_REGION", REGION),
           ("S3_BUCKET", BUCKET),
           ("S3_ACCESS_KEY_ID", ak),
           ("S3_SECRET_ACCESS_KEY", sk)]
    text = "".join(f"{k}={shell_quote(v)}\n" for k, v in env)
    with open(os.path.join(workdir, "env.tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(workdir, "env.tmp"), os.path.join(workdir, "env"))
    sys.stdout.write(text)


def read_env(workdir):
    env = {}
    try:
        with open(os.path.join(workdir, "env")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if v.startswith("'") and v.endswith("'"):
                    v = v[1:-1].replace("'\\''", "'")
                env[k] = v
    except OSError as e:
        die(f"no env in {workdir} (not started?): {e}")
    return env


def cmd_put(workdir, key, path):
    env = read_env(workdir)
    port = int(env["S3_ENDPOINT"].rsplit(":", 1)[1])
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
            size = f.tell()
            f.seek(0)
            st, data = request(port, "PUT",
                               "/" + env["S3_BUCKET"] + "/" +
                               urllib.parse.quote(key, safe="/-_.~"),
                               body=(f, digest.hexdigest(), size),
                               headers={"content-type":
                                        "application/octet-stream"},
                               ak=env["S3_ACCESS_KEY_ID"],
                               sk=env["S3_SECRET_ACCESS_KEY"], timeout=300)
    except OSError as e:
        die(f"put {key}: {e}")
    if st != 200:
        die(f"put {key}: HTTP {st}: {data[:300]!r}")


def main(argv):
    if len(argv) == 3 and argv[0] == "start":
        cmd_start(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "put":
        cmd_put(argv[1], argv[2], argv[3])
    else:
        die("usage: moto-helper.py start WORKDIR PKGDIR | put WORKDIR KEY FILE", 2)


if __name__ == "__main__":
    main(sys.argv[1:])
