#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A small Docker registry token server for tests (started by tests/servers/registry).

It makes an RSA key and a self-signed certificate (the registry's
rootcertbundle), listens on 127.0.0.1 (a free port, written to --port-file
once it listens) and issues RS256 JWTs as distribution's token auth expects:
header x5c = [the certificate], claims iss/sub/aud/exp/nbf/iat/jti/access.

  GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]
  POST /token (form: grant_type=password, username, password, service, scope)

Basic credentials (GET) or the form's username/password (POST) must match
--user/--password: 401 otherwise.  The token grants the requested actions
(scope is honoured: no scope, no access).  Each token issued appends one line
"TIME JTI USER SCOPE..." to --issued-file.
"""

import argparse
import base64
import datetime
import http.server
import json
import math
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key_and_cert(cert_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fscached test token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        .sign(key, hashes.SHA256())
    )
    tmp = cert_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, cert_path)
    return key, cert


def parse_scope(scope):
    """repository:NAME:pull,push -> {type, name, actions}; NAME may hold ':' (host:port/x)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    kind, actions = parts[0], parts[-1]
    name = ":".join(parts[1:-1])
    if not kind or not name:
        return None
    return {"type": kind, "name": name,
            "actions": sorted({a for a in actions.split(",") if a})}


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fscached-test-token/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def unauthorized(self, why):
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": why}]},
                   [("WWW-Authenticate", 'Basic realm="fscached-test-token"')])

    def basic_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, None
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return user, password

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        query = urllib.parse.parse_qs(url.query)
        user, password = self.basic_user()
        self.issue(user, password, query)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length > 0 else ""
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        form = urllib.parse.parse_qs(body)
        if form.get("grant_type", [""])[0] != "password":
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        user = form.get("username", [None])[0]
        password = form.get("password", [None])[0]
        self.issue(user, password, form, oauth=True)

    def issue(self, user, password, query, oauth=False):
        cfg = self.server.cfg
        if user is None:
            self.unauthorized("credentials required")
            return
        if user != cfg.user or password != cfg.password:
            self.unauthorized("bad credentials")
            return
        service = query.get("service", [""])[0]
        if service and service != cfg.service:
            self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service " + service}]})
            return
        access = []
        scopes = []
        for s in query.get("scope", []):
            for one in s.split(" "):
                if not one:
                    continue
                entry = parse_scope(one)
                if entry is None:
                    self.reply(400, {"errors": [{"code": "DENIED", "message": "bad scope " + one}]})
                    return
                access.append(entry)
                scopes.append(one)
        now_f = time.time()
        now = int(now_f)
        ttl = cfg.ttl
        jti = secrets.token_hex(16)
        claims = {
            "iss": cfg.issuer,
            "sub": user,
            "aud": cfg.service,
            # distribution accepts tokens up to 60 s past exp (leeway):
            # --strict-expiry moves exp back by that much, so that the registry
            # really refuses a token ttl seconds after it was issued.
            "exp": math.ceil(now_f) + ttl - (60 if cfg.strict_expiry else 0),
            "nbf": now - 1,
            "iat": now,
            "jti": jti,
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.server.cert_b64]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self.server.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = signing_input + "." + b64url(sig)
        with self.server.lock:
            with open(cfg.issued_file, "a") as f:
                f.write("%d %s %s %s\n" % (now, jti, user, " ".join(scopes) or "-"))
        issued_at = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        body = {"token": token, "access_token": token, "expires_in": ttl,
                "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if oauth:
            body["scope"] = " ".join(scopes)
        self.reply(200, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert-file", required=True, help="where to write the signing certificate (PEM)")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--issued-file", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--strict-expiry", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    cfg = ap.parse_args()

    key, cert = make_key_and_cert(cfg.cert_file)
    open(cfg.issued_file, "a").close()
    srv = TokenServer(("127.0.0.1", 0), Handler)
    srv.cfg = cfg
    srv.key = key
    srv.cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    srv.lock = threading.Lock()
    if cfg.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        # The handshake happens in the handler's thread, not in accept().
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, cfg.port_file)
    sys.stderr.write("token server on 127.0.0.1:%d\n" % srv.server_address[1])
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
