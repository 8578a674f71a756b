#!/usr/bin/env python3
"""ECR's limits in front of the ECR stand-in: per-action request rates and expiring tokens.

    .rig/venv/bin/python rig/ecrlimits.py --upstream http://127.0.0.1:ECRFRONT \
        --api-upstream http://127.0.0.1:MOTO [--rate PutImage=10 ...] \
        [--rotate SECONDS --upstream-auth AWS:123456789012-auth-token] [--quiet]

Opens two listeners on 127.0.0.1 and prints exactly one line
"LISTENING registry=http://127.0.0.1:P1 api=http://127.0.0.1:P2" on stdout.

Registry port P1 (a streaming proxy to --upstream, the data plane):
  * every /v2 request is metered as the ECR API action it is (manifest PUT ->
    PutImage, upload POST -> InitiateLayerUpload, PATCH -> UploadLayerPart, upload
    PUT -> CompleteLayerUpload, blob HEAD -> BatchCheckLayerAvailability, manifest
    GET/HEAD -> BatchGetImage, blob GET -> GetDownloadUrlForLayer). With --rate
    ACTION=N (repeatable) that action has a token bucket of N per second (burst N);
    over it, the request is answered 429 {"errors":[{"code":"TOOMANYREQUESTS",
    "message":"Rate exceeded"}]} with no Retry-After, as ECR does.
  * with --rotate S: Basic credentials must carry a password that the API port
    issued and that has not expired (S seconds after issue) or been revoked;
    otherwise 401 with a Basic challenge. Accepted requests go upstream with
    --upstream-auth instead.
API port P2 (a proxy to moto, --api-upstream):
  * with --rotate S, GetAuthorizationToken is answered here: a new password
    "<account>-rot-<n>" per call, expiresAt = now + S. Everything else goes to moto.
Control (either port):
  GET  /__stats   {"requests": {action: n}, "throttled": {action: n}, "total",
                   "total_throttled", "tokens_issued", "refused", "by_kind", "by_status"}
                  (by_kind/by_status: the registry port's requests by "METHOD what", as
                  rig/hubfront.py's request_kind() names them, and by status code answered)
  POST /__revoke  every issued password stops working at once
  POST /__reset   zero the counters
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import time
from urllib.parse import urlsplit

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hubfront import ProxyHandler, ProxyServer, RequestKinds, parse_upstream  # noqa: E402

UPLOAD = re.compile(r"^/v2/.+/blobs/uploads/")
BLOB = re.compile(r"^/v2/.+/blobs/[^/]+$")
MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")


def action_of(method, path):
    if UPLOAD.match(path):
        return {"POST": "InitiateLayerUpload", "PATCH": "UploadLayerPart",
                "PUT": "CompleteLayerUpload"}.get(method, "Other")
    if MANIFEST.match(path):
        return {"PUT": "PutImage", "GET": "BatchGetImage", "HEAD": "BatchGetImage"}.get(method, "Other")
    if BLOB.match(path):
        return {"HEAD": "BatchCheckLayerAvailability", "GET": "GetDownloadUrlForLayer"}.get(method, "Other")
    return "Other"


class Bucket:
    def __init__(self, rate):
        self.rate, self.tokens, self.at = float(rate), float(rate), time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.buckets = {a: Bucket(r) for a, r in args.rate}
        self.rotate = args.rotate
        self.upstream_auth = args.upstream_auth
        self.account = args.account
        self.region = args.region
        self.passwords = {}  # password -> expiry (monotonic)
        self.kinds = RequestKinds()  # the registry port's requests per kind and status
        self.reset()

    def reset(self):
        self.requests, self.throttled = {}, {}
        self.issued = self.refused = 0
        self.kinds.reset()

    def stats(self):
        return dict({"requests": self.requests, "throttled": self.throttled,
                     "total": sum(self.requests.values()),
                     "total_throttled": sum(self.throttled.values()),
                     "tokens_issued": self.issued, "refused": self.refused}, **self.kinds.snapshot())


def control(handler, st):
    url = urlsplit(handler.path)
    if url.path == "/__stats" and handler.command == "GET":
        with st.lock:
            return handler.send_json(200, st.stats())
    if url.path == "/__revoke" and handler.command == "POST":
        with st.lock:
            st.passwords.clear()
        return handler.send_json(200, {"revoked": True})
    if url.path == "/__reset" and handler.command == "POST":
        with st.lock:
            st.reset()
        return handler.send_json(200, {"reset": True})
    return handler.send_json(404, {"error": "unknown control path"})


def make_registry_handler(st):
    class Limits(ProxyHandler):
        prog = "ecrlimits"
        server_version = "rig-ecrlimits/1"

        def route(self):
            path = urlsplit(self.path).path
            if path.startswith("/__"):
                return control(self, st)
            action = action_of(self.command, path)
            with st.lock:
                st.requests[action] = st.requests.get(action, 0) + 1
                b = st.buckets.get(action)
                if b is not None and not b.take():
                    st.throttled[action] = st.throttled.get(action, 0) + 1
                    limited = True
                else:
                    limited = False
            if limited:
                return self.send_json(429, {"errors": [{"code": "TOOMANYREQUESTS",
                                                        "message": "Rate exceeded"}]})
            if st.rotate and path.startswith("/v2"):
                if not self.authorised():
                    with st.lock:
                        st.refused += 1
                    return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED",
                                                            "message": "authentication required"}]},
                                          headers=[("WWW-Authenticate", 'Basic realm="ecr"')])
            return self.forward()

        def authorised(self):
            h = self.headers.get("Authorization") or ""
            if not h.startswith("Basic "):
                return False
            try:
                user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
            except ValueError:
                return False
            with st.lock:
                exp = st.passwords.get(pw)
            return user == "AWS" and exp is not None and time.monotonic() < exp

        def forward_headers(self):
            out = super().forward_headers()
            if st.rotate:
                out = [(k, v) for k, v in out if k.lower() != "authorization"]
                out.append(("Authorization",
                            "Basic " + base64.b64encode(st.upstream_auth.encode()).decode()))
            return out

    return Limits


def make_api_handler(st):
    class Api(ProxyHandler):
        prog = "ecrlimits-api"
        server_version = "rig-ecrlimits-api/1"

        def route(self):
            path = urlsplit(self.path).path
            if path.startswith("/__"):
                return control(self, st)
            target = self.headers.get("X-Amz-Target") or ""
            if st.rotate and target.endswith(".GetAuthorizationToken"):
                with st.lock:
                    st.issued += 1
                    pw = "%s-rot-%d" % (st.account, st.issued)
                    st.passwords[pw] = time.monotonic() + st.rotate
                token = base64.b64encode(("AWS:" + pw).encode()).decode()
                return self.send_json(200, {"authorizationData": [{
                    "authorizationToken": token,
                    "expiresAt": time.time() + st.rotate,
                    "proxyEndpoint": "https://%s.dkr.ecr.%s.amazonaws.com" % (st.account, st.region),
                }]}, content_type="application/x-amz-json-1.1")
            return self.forward()

    return Api


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the data plane (ecrfront)")
    p.add_argument("--api-upstream", required=True, help="http://127.0.0.1:PORT of moto")
    p.add_argument("--rate", action="append", default=[], help="ACTION=N requests per second")
    p.add_argument("--rotate", type=float, default=0.0, help="token lifetime in seconds (0: off)")
    p.add_argument("--upstream-auth", default="AWS:123456789012-auth-token")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    rates = []
    for r in args.rate:
        name, _, n = r.partition("=")
        try:
            rates.append((name, float(n)))
        except ValueError:
            p.error("--rate wants ACTION=N, got %r" % r)
    args.rate = rates
    st = State(args)
    reg = ProxyServer(("127.0.0.1", 0), make_registry_handler(st), parse_upstream(args.upstream), args.quiet)
    reg.kinds = st.kinds
    api = ProxyServer(("127.0.0.1", 0), make_api_handler(st), parse_upstream(args.api_upstream), args.quiet)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    print("LISTENING registry=http://%s:%d api=http://%s:%d"
          % (reg.server_address[:2] + api.server_address[:2]), flush=True)
    try:
        reg.serve_forever()
    except KeyboardInterrupt:
        pass
    reg.server_close()
    api.server_close()


if __name__ == "__main__":
    main()
