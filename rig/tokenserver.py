#!/usr/bin/env python3
"""Docker Hub-style token server (a local stand-in for auth.docker.io).

    .rig/venv/bin/python rig/tokenserver.py --listen 127.0.0.1:0 --state-dir DIR \
        --user demo:demo-password [--service registry.docker.io] \
        [--issuer auth.docker.io] [--expires-in 300]

At start it makes an RSA-2048 key and a self-signed certificate and writes
DIR/cert.pem (the registry's auth.token.rootcertbundle), then prints exactly one
line "LISTENING http://127.0.0.1:PORT" to stdout. Logs go to stderr.

  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]
       no Authorization   -> anonymous, only "pull" is granted
       valid Basic creds  -> requested actions among pull,push,delete ("*" = all three);
                             registry:catalog:* is granted as asked (for /v2/_catalog)
       invalid Basic      -> 401 {"details":"incorrect username or password"}
       200 {"token","access_token","expires_in","issued_at"}
  POST /token          form grant_type=password&username&password&service&scope
       (the OAuth2 flow of the Docker CLI) -> same grant rules, same JSON;
       form grant_type=refresh_token&refresh_token=T -> as the user T belongs to
       (--refresh-token T:USER); an unknown T -> 401
  GET  /stats          {"tokens_issued": N, "auth_failures": M}
  POST /stats/reset    zero the counters

Tokens are RS256 JWTs with the signing certificate in the header's x5c, as
distribution 2.8.2 (docker-registry) expects. Note for that version: "aud" must be
a plain string (not a list) and the times must be integers.
"""
import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ALL_ACTIONS = ("pull", "push", "delete")


def make_key_and_cert(common_name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def libtrust_kid(public_key):
    """Key ID in the libtrust format (what Docker's own token servers put in "kid")."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i:i + 4] for i in range(0, 48, 4))


def parse_scope(scope):
    """'repository:acme/demo:pull,push' -> ('repository', 'acme/demo', ['pull', 'push'])."""
    typ, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


class TokenServer:
    def __init__(self, args):
        self.service, self.issuer, self.expires_in = args.service, args.issuer, args.expires_in
        self.users = dict(u.split(":", 1) for u in args.user)
        self.key, self.cert = make_key_and_cert(args.issuer)
        self.x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.kid = libtrust_kid(self.key.public_key())
        self.lock = threading.Lock()
        self.tokens_issued = 0
        self.auth_failures = 0
        os.makedirs(args.state_dir, exist_ok=True)
        path = os.path.join(args.state_dir, "cert.pem")
        with open(path + ".tmp", "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        os.replace(path + ".tmp", path)

    def grant(self, user, scopes):
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            typ, name, wanted = parsed
            if typ == "repository":
                if "*" in wanted:
                    wanted = list(ALL_ACTIONS)
                allowed = ALL_ACTIONS if user is not None else ("pull",)
            else:  # e.g. registry:catalog:* -- authenticated users only, as asked
                allowed = wanted if user is not None else ()
            actions = [a for a in wanted if a in allowed]
            access.append({"type": typ, "name": name, "actions": sorted(set(actions), key=wanted.index)})
        return access

    def issue(self, user, service, scopes):
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        iat = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": service or self.service,  # a string: distribution 2.8.2 rejects a list
            "exp": iat + self.expires_in,
            "nbf": iat - 1,
            "iat": iat,
            "jti": uuid.uuid4().hex,
            "access": self.grant(user, scopes),
        }
        token = jwt.encode(claims, self.key, algorithm="RS256",
                           headers={"x5c": self.x5c, "kid": self.kid})
        with self.lock:
            self.tokens_issued += 1
        return {"token": token, "access_token": token, "expires_in": self.expires_in,
                "issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def check(self, username, password):
        return username in self.users and self.users[username] == password

    def failed(self):
        with self.lock:
            self.auth_failures += 1


def make_handler(ts):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out as separate writes: without TCP_NODELAY the body
        # waits ~40 ms for the client's delayed ACK on a kept-alive connection
        disable_nagle_algorithm = True
        server_version = "rig-tokenserver/1"

        def log_message(self, fmt, *a):
            sys.stderr.write("tokenserver: %s %s\n" % (self.address_string(), fmt % a))

        def send_json(self, code, obj, extra=None):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def basic_user(self):
            """None = anonymous, False = bad credentials, else the user name."""
            auth = self.headers.get("Authorization")
            if not auth:
                return None
            scheme, _, blob = auth.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                username, _, password = base64.b64decode(blob.strip()).decode().partition(":")
            except Exception:
                return False
            return username if ts.check(username, password) else False

        def unauthorized(self):
            ts.failed()
            self.send_json(401, {"details": "incorrect username or password"})

        def do_GET(self):
            url = urlsplit(self.path)
            q = parse_qs(url.query)
            if url.path == "/stats":
                with ts.lock:
                    return self.send_json(200, {"tokens_issued": ts.tokens_issued,
                                                "auth_failures": ts.auth_failures})
            if url.path != "/token":
                return self.send_json(404, {"details": "not found"})
            user = self.basic_user()
            if user is False:
                return self.unauthorized()
            self.send_json(200, ts.issue(user, q.get("service", [None])[0], q.get("scope", [])))

        def do_POST(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            if url.path == "/stats/reset":
                with ts.lock:
                    ts.tokens_issued = ts.auth_failures = 0
                return self.send_json(200, {"tokens_issued": 0, "auth_failures": 0})
            if url.path != "/token":
                return self.send_json(404, {"details": "not found"})
            username = form.get("username", [None])[0]
            if form.get("grant_type", [""])[0] == "refresh_token":
                user = ts.refresh_tokens.get(form.get("refresh_token", [""])[0])
                if user is None:
                    return self.unauthorized()
            elif username is not None:  # grant_type=password
                if not ts.check(username, form.get("password", [""])[0]):
                    return self.unauthorized()
                user = username
            else:
                user = self.basic_user()
                if user is False:
                    return self.unauthorized()
            scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
            self.send_json(200, ts.issue(user, form.get("service", [None])[0], scopes))

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--user", action="append", default=[], help="NAME:PASSWORD (repeatable)")
    p.add_argument("--service", default="registry.docker.io")
    p.add_argument("--issuer", default="auth.docker.io")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--refresh-token", action="append", default=[],
                   help="TOKEN:USER, an identity token accepted by grant_type=refresh_token")
    args = p.parse_args()
    for u in args.user:
        if ":" not in u:
            p.error("--user wants NAME:PASSWORD")

    ts = TokenServer(args)  # writes cert.pem before we announce anything
    ts.refresh_tokens = dict(t.split(":", 1) for t in args.refresh_token)
    host, _, port = args.listen.rpartition(":")
    httpd = ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(ts))
    httpd.daemon_threads = True
    print("LISTENING http://%s:%d" % httpd.server_address[:2], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()


if __name__ == "__main__":
    main()
