#!/usr/bin/env python3
"""Docker Hub behaviour in front of a Hub stand-in registry (pull limits + Hub API).

    .rig/venv/bin/python rig/hubfront.py --upstream http://127.0.0.1:REGPORT \
        [--limit 100] [--window 21600] [--source 127.0.0.1] \
        [--upstream-user demo:demo-password] [--api-limit 0] [--api-window 2] [--quiet]

Opens two listeners on 127.0.0.1 ephemeral ports and prints exactly one line
"LISTENING registry=http://127.0.0.1:P1 hubapi=http://127.0.0.1:P2" on stdout.
Logs go to stderr (one line per request unless --quiet).

Registry port P1: a streaming HTTP/1.1 proxy to --upstream (Host kept, so upload
Location URLs point back at P1; hop-by-hop headers dropped; everything else both
ways untouched, including the registry's own Bearer challenge).
  * every HEAD/GET /v2/<name>/manifests/<ref> response (any status) gets
    ratelimit-limit: L;w=W, ratelimit-remaining: R;w=W, docker-ratelimit-source: S
  * a manifest GET is a pull: R drops by one. A GET the upstream answers 401
    (no/expired token) is refunded, as on Hub (the limit is applied to the token's
    identity). HEAD never counts. With R = 0 a manifest GET is answered here with
    429 TOOMANYREQUESTS (with the headers, remaining 0) and not forwarded.
  * --limit 0: unlimited, no ratelimit headers at all (paid plan).
  * --refill: remaining refills to the limit every --window seconds (fixed windows
    from the start), so a short window shows a whole migration paced by it.
  * a manifest PUT by tag through P1 records the tag's push time for the Hub API.
  GET  /__stats   {"pulls","manifest_heads","rejected","unauthorized","requests","remaining","limit","window",
                   "by_kind","by_status"}
                  pulls = manifest GETs forwarded and counted (any status but 401),
                  requests = every request on this port but the /__ control ones
                  (any method, path and answer, 429s and 401s included),
                  rejected = 429s sent, unauthorized = refunded 401 GETs;
                  remaining is null when unlimited; by_kind = the same requests by
                  "METHOD what" (request_kind(): "HEAD manifest", "GET blob", "POST mount"...),
                  by_status = by the status code answered
  POST /__reset   zero the counters, remaining = limit
  POST /__set?remaining=N[&limit=L]   (a new limit also sets remaining to it unless
                  remaining is given; limit=0 switches to unlimited)

Hub API port P2 (JSON built live from the upstream registry, which the front reads
with --upstream-user through the registry's own token flow; those reads cost no pulls):
  POST /v2/auth/token {"identifier","secret"} -> {"access_token"} or 401
  POST /v2/users/login {"username","password"} -> {"token"} or 401 (older Hub call)
  GET  /v2/namespaces/NS/repositories[?page=N&page_size=M]         (default 10, max 100)
  GET  /v2/namespaces/NS/repositories/REPO
  GET  /v2/namespaces/NS/repositories/REPO/tags[?page=&page_size=]  (newest first)
  GET  /v2/namespaces/NS/repositories/REPO/tags/TAG
  (the same under the older /v2/repositories/NS/ and /v2/repositories/NS/REPO/...)
  Every repository carries "is_private" (false unless set with /__private). As on Hub,
  private repositories exist only for logged-in callers (a Bearer token issued by
  /v2/auth/token here): anonymous listings leave them out, anonymous GETs of one, or
  of its tags, get 404.
  unknown namespace/repo/tag -> 404 {"message":"object not found","errinfo":{}};
  a page past the end -> 404 likewise. Anonymous calls work; a Bearer token that
  was not issued here -> 401 {"detail": "..."}.
  Tag last_updated = when the front first saw that tag with that digest (a manifest
  PUT through P1, or the first listing); distinct (>= 1 ms apart) and stable. Tags
  first seen in the same listing are stamped in name order (the last name is newest).
  full_size = bytes of the distinct blobs (configs + layers) of all the tag's images;
  images[].size = that platform's config + layers.
  --api-limit N: every API response carries X-RateLimit-Limit/-Remaining/-Reset; after
  N requests the next ones get 429 {"detail":"Rate limit exceeded"} with X-Retry-After
  (unix time) until --api-window seconds (default 2) after the counter ran out, then
  it refills. --api-limit 0 (default): unlimited, no X-RateLimit headers, no 429.
  GET  /__stats   {"api_requests","rejected","remaining","limit","upstream_tokens"}
                  upstream_tokens = token requests the front itself sent to the registry's
                  realm for its upstream reads (so a bench can tell them from its clients')
  POST /__reset   zero the API counters (upstream_tokens too) and refill
  POST /__private?repo=NS/NAME[&private=0]   mark a repository private (or public again)
  POST /__tags_updated?repo=NS/NAME&tag=T&time=RFC3339   set a tag's last_updated
       (for its current digest; a new digest pushed later gets a new time; a "+"
       in an offset must be sent as %2B)
"""
import argparse
import base64
import datetime as dt
import http.client
import json
import math
import re
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

BUF = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade"}
MANIFEST_TYPES = ("application/vnd.oci.image.index.v1+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
INDEX_TYPES = MANIFEST_TYPES[:2]
ACCEPT_ALL = ", ".join(MANIFEST_TYPES)
MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
UPSTREAM_ERRORS = (OSError, http.client.HTTPException)


class ClientGone(Exception):
    """The client went away (or sent garbage) mid-request: drop its connection."""


UPLOAD_PATH = re.compile(r"^/v2/.+/blobs/uploads/")
BLOB_PATH = re.compile(r"^/v2/.+/blobs/[^/]+$")


def request_kind(method, target):
    """'METHOD what': what a /v2 request addresses (manifest, blob, upload, mount, tags,
    catalog, referrers, base, other), e.g. 'HEAD manifest', 'POST upload', 'POST mount'."""
    url = urlsplit(target or "")
    path = url.path
    if path in ("/v2", "/v2/"):
        what = "base"
    elif UPLOAD_PATH.match(path):
        what = "mount" if method == "POST" and "mount" in parse_qs(url.query) else "upload"
    elif MANIFEST_PATH.match(path):
        what = "manifest"
    elif BLOB_PATH.match(path):
        what = "blob"
    elif path.endswith("/tags/list"):
        what = "tags"
    elif path == "/v2/_catalog":
        what = "catalog"
    elif "/referrers/" in path:
        what = "referrers"
    else:
        what = "other"
    return "%s %s" % (method, what)


class RequestKinds:
    """Counts of the requests a proxy answered, per request_kind() and per status code
    (a front opts in by setting its server's .kinds; /__ control requests are left out)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.by_kind, self.by_status = {}, {}

    def note(self, method, target, code):
        kind, code = request_kind(method, target), str(int(code)) if str(code).isdigit() else str(code)
        with self.lock:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            self.by_status[code] = self.by_status.get(code, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"by_kind": dict(self.by_kind), "by_status": dict(self.by_status)}


def log(prog, msg):
    sys.stderr.write("%s: %s\n" % (prog, msg))
    sys.stderr.flush()


def rfc3339(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_upstream(url):
    u = urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise ValueError("--upstream wants http://HOST:PORT, got %r" % url)
    return u.hostname, u.port or 80


# --------------------------------------------------------------------------------------
# Streaming reverse proxy (shared with rig/ecrfront.py, which imports it from here)
# --------------------------------------------------------------------------------------
class ProxyHandler(BaseHTTPRequestHandler):
    """Forwards every request to self.server.upstream (host, port), streaming.

    One persistent upstream connection per client connection; a request with a body
    always gets a fresh one (a body cannot be replayed if a reused connection turns
    out to be dead). Subclasses override route() to answer some requests themselves.
    """
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes: without TCP_NODELAY the body
    # waits ~40 ms for the client's delayed ACK on a kept-alive connection
    disable_nagle_algorithm = True
    server_version = "rig-proxy/1"
    prog = "proxy"
    upstream_timeout = 600

    # ---- plumbing --------------------------------------------------------------------
    def setup(self):
        super().setup()
        self._up = None
        self._body_read = False

    def finish(self):
        self._close_upstream()
        super().finish()

    def log_request(self, code="-", size="-"):
        kinds = getattr(self.server, "kinds", None)
        target = getattr(self, "path", "") or ""
        if kinds is not None and self.command and not target.startswith("/__"):
            kinds.note(self.command, target, getattr(code, "value", code))
        super().log_request(code, size)

    def log_message(self, fmt, *a):
        if not getattr(self.server, "quiet", False):
            log(self.prog, "%s %s" % (self.address_string(), fmt % a))

    def _close_upstream(self):
        if self._up is not None:
            try:
                self._up.close()
            except Exception:
                pass
            self._up = None

    def _upstream(self, fresh):
        if fresh:
            self._close_upstream()
        if self._up is None:
            host, port = self.server.upstream
            self._up = http.client.HTTPConnection(host, port, timeout=self.upstream_timeout)
        return self._up

    def handle_one_request(self):
        self._body_read = False
        try:
            super().handle_one_request()
        except ClientGone as e:
            log(self.prog, "client %s: %s" % (self.address_string(), e))
            self.close_connection = True
            self._close_upstream()
        except (ConnectionError, socket.timeout):
            self.close_connection = True
            self._close_upstream()

    def do_any(self):
        self.route()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_OPTIONS = do_any

    def route(self):
        self.forward()

    # ---- request body ----------------------------------------------------------------
    def body_mode(self):
        """('chunked', None) | ('length', N) | ('none', 0)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return "chunked", None
        cl = self.headers.get("Content-Length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                raise ClientGone("bad Content-Length %r" % cl)
            return "length", n
        return "none", 0

    def iter_body(self):
        """Yield the client's request body in pieces of <= BUF bytes (once)."""
        if self._body_read:
            return
        self._body_read = True
        try:
            yield from self._iter_body()
        except OSError as e:  # the client's side: not an upstream error
            raise ClientGone("reading request body: %r" % e)

    def _iter_body(self):
        mode, n = self.body_mode()
        rf = self.rfile
        if mode == "length":
            while n > 0:
                data = rf.read(min(BUF, n))
                if not data:
                    raise ClientGone("request body ended early")
                n -= len(data)
                yield data
        elif mode == "chunked":
            while True:
                line = rf.readline(1024)
                if not line.endswith(b"\n"):
                    raise ClientGone("bad chunk header")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ClientGone("bad chunk size %r" % line[:40])
                if size == 0:
                    while True:  # trailers, up to the empty line
                        t = rf.readline(65536)
                        if t in (b"\r\n", b"\n", b""):
                            return
                while size > 0:
                    data = rf.read(min(BUF, size))
                    if not data:
                        raise ClientGone("chunked body ended early")
                    size -= len(data)
                    yield data
                rf.readline(16)  # CRLF after the chunk data

    def drain_body(self):
        for _ in self.iter_body():
            pass

    # ---- local answers ---------------------------------------------------------------
    def send_json(self, code, obj, headers=(), content_type="application/json"):
        self.drain_body()  # keep the connection usable
        body = json.dumps(obj).encode()
        self.send_response_only(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Date", self.date_time_string())
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_request(code, len(body))

    # ---- forwarding ------------------------------------------------------------------
    def upstream_request(self, method=None, path=None, headers=None, fresh=False):
        """Send this request (or a variant) upstream; return the HTTPResponse.

        Streams the client's body along (re-chunked when it came chunked). Retries
        once on a fresh connection when a reused one was dead and no body was sent.
        """
        method = method or self.command
        path = path or self.path
        mode, n = self.body_mode() if not self._body_read else ("none", 0)
        has_body = mode == "chunked" or n > 0
        hdrs = headers if headers is not None else self.forward_headers()
        for attempt in (0, 1):
            reused = self._up is not None and not (fresh or has_body or attempt)
            conn = self._upstream(fresh=fresh or has_body or attempt > 0)
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in hdrs:
                    conn.putheader(k, v)
                if mode == "length":
                    conn.putheader("Content-Length", str(n))
                elif mode == "chunked":
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                if has_body:
                    body = self.iter_body()
                    try:
                        for data in body:
                            if mode == "chunked":
                                conn.send(b"%x\r\n" % len(data) + data + b"\r\n")
                            else:
                                conn.send(data)
                        if mode == "chunked":
                            conn.send(b"0\r\n\r\n")
                    except UPSTREAM_ERRORS as e:
                        # the upstream stopped reading the body: it may have answered
                        # early (distribution 2.8 answers a monolithic POST upload with
                        # 202 and closes). Drain the client's body, relay that answer.
                        for _ in body:
                            pass
                        try:
                            resp = conn.getresponse()
                        except UPSTREAM_ERRORS:
                            raise e
                        resp.will_close = True
                        return resp
                elif mode == "length":
                    self._body_read = True
                return conn.getresponse()
            except ClientGone:
                self._close_upstream()
                raise
            except UPSTREAM_ERRORS:
                self._close_upstream()
                if not reused:
                    raise
                # a kept-alive upstream connection had died: retry once, fresh

    def forward_headers(self):
        conn_tokens = {t.strip().lower() for t in (self.headers.get("Connection") or "").split(",")}
        out, have_host = [], False
        for k, v in self.headers.items():
            kl = k.lower()
            if kl in HOP_BY_HOP or kl in conn_tokens or kl in ("content-length", "expect"):
                continue
            have_host |= kl == "host"
            out.append((k, v))
        if not have_host:
            host, port = self.server.upstream
            out.append(("Host", "%s:%d" % (host, port)))
        return out

    def forward(self, extra_headers=(), on_response=None):
        """Proxy this request and relay the answer. on_response(resp) may return more
        headers to add to the relayed response."""
        try:
            resp = self.upstream_request()
        except UPSTREAM_ERRORS as e:
            log(self.prog, "upstream error on %s %s: %r" % (self.command, self.path, e))
            if self.body_mode() != ("none", 0):
                self.close_connection = True  # the body may be half read: start afresh
            return self.send_json(502, {"errors": [{"code": "UNAVAILABLE",
                                                    "message": "front: upstream unreachable: %s" % e}]})
        extra = list(extra_headers)
        if on_response is not None:
            extra += list(on_response(resp) or ())
        self.relay(resp, extra)
        return resp

    def relay(self, resp, extra=()):
        status = resp.status
        resp_conn = {t.strip().lower() for t in (resp.getheader("Connection") or "").split(",")}
        override = {k.lower() for k, _ in extra}
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        length = resp.getheader("Content-Length")
        known = length is not None and not resp.chunked
        self.send_response_only(status, resp.reason)
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP_BY_HOP or kl in resp_conn or kl in override:
                continue
            if kl == "content-length" and not known and not no_body:
                continue
            self.send_header(k, v)
        for k, v in extra:
            self.send_header(k, v)
        sent = 0
        try:
            if no_body:
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                resp.read()
            elif known:
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                left = int(length)
                buf = bytearray(BUF)
                mv = memoryview(buf)
                while left > 0:
                    got = resp.readinto(mv[:min(BUF, left)])
                    if not got:
                        raise ClientGone("upstream body ended early (%d bytes missing)" % left)
                    self.wfile.write(mv[:got])
                    sent += got
                    left -= got
                if not int(length):
                    # nothing read: http.client only marks an empty body done on a read, and
                    # the next request on this kept-alive upstream connection would be sent,
                    # then refused locally (ResponseNotReady) and sent again on a fresh one
                    resp.read()
            elif self.request_version == "HTTP/1.1":
                self.send_header("Transfer-Encoding", "chunked")
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                while True:
                    data = resp.read1(BUF) if hasattr(resp, "read1") else resp.read(BUF)
                    if not data:
                        break
                    self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
                    sent += len(data)
                self.wfile.write(b"0\r\n\r\n")
            else:  # HTTP/1.0 client, length unknown: delimit by close
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                while True:
                    data = resp.read(BUF)
                    if not data:
                        break
                    self.wfile.write(data)
                    sent += len(data)
        except (ConnectionError, socket.timeout, ClientGone, http.client.HTTPException) as e:
            self._close_upstream()
            raise ClientGone("relay of %s %s stopped: %r" % (self.command, self.path, e))
        if resp.will_close:
            self._close_upstream()
        self.log_request(status, sent)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, handler, upstream, quiet=False):
        super().__init__(addr, handler)
        self.upstream = upstream
        self.quiet = quiet


# --------------------------------------------------------------------------------------
# Shared state between the two ports
# --------------------------------------------------------------------------------------
class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.limit, self.window, self.source = args.limit, args.window, args.source
        self.remaining = args.limit
        self.refill = getattr(args, "refill", False)
        self.window_start = time.monotonic()
        self.pulls = self.heads = self.rejected = self.unauthorized = self.requests = 0
        self.kinds = RequestKinds()  # the registry port's requests per kind and status
        # Hub API
        self.api_limit, self.api_window = args.api_limit, args.api_window
        self.api_remaining, self.api_reset_at = args.api_limit, None
        self.api_requests = self.api_rejected = 0
        self.api_tokens = set()
        self.private = set()  # "ns/name" of private repositories
        user, _, pw = (args.upstream_user or "").partition(":")
        self.hub_user = (user, pw) if args.upstream_user else None
        # times: (repo, tag, digest) -> first seen; (repo, tag) -> (time, digest) override
        self.first_seen, self.override, self.repo_seen = {}, {}, {}
        self.last_time = 0.0

    def stamp(self):
        """A distinct, increasing time (>= 1 ms after the last one handed out)."""
        with self.lock:
            t = max(time.time(), self.last_time + 0.001)
            self.last_time = t
            return t

    def seen(self, repo, tag, digest, t=None):
        key = (repo, tag, digest)
        with self.lock:
            if key in self.first_seen:
                return self.first_seen[key]
        t = t if t is not None else self.stamp()
        with self.lock:
            self.repo_seen.setdefault(repo, t)
            return self.first_seen.setdefault(key, t)

    def tag_time(self, repo, tag, digest):
        with self.lock:
            o = self.override.get((repo, tag))
        if o is not None and (o[1] is None or o[1] == digest):
            return o[0]
        return self.seen(repo, tag, digest)

    def repo_time(self, repo):
        with self.lock:
            t = self.repo_seen.get(repo)
        if t is None:
            t = self.stamp()
            with self.lock:
                t = self.repo_seen.setdefault(repo, t)
        return t

    # ---- registry pull limit -------------------------------------------------------
    def tick(self):
        """With --refill: a new window gives the whole limit back (call under lock)."""
        if self.refill and self.limit > 0:
            now = time.monotonic()
            if now - self.window_start >= self.window:
                passed = int((now - self.window_start) // self.window)
                self.window_start += passed * self.window
                self.remaining = self.limit

    def rl_headers(self, remaining):
        if self.limit <= 0:
            return []
        return [("ratelimit-limit", "%d;w=%d" % (self.limit, self.window)),
                ("ratelimit-remaining", "%d;w=%d" % (max(remaining, 0), self.window)),
                ("docker-ratelimit-source", self.source)]


# --------------------------------------------------------------------------------------
# Registry port
# --------------------------------------------------------------------------------------
def make_registry_handler(st):
    class RegistryFront(ProxyHandler):
        prog = "hubfront"
        server_version = "rig-hubfront/1"

        def route(self):
            url = urlsplit(self.path)
            if url.path.startswith("/__"):
                return self.control(url)
            with st.lock:
                st.requests += 1
            m = MANIFEST_PATH.match(url.path)
            if not m:
                return self.forward()
            if self.command == "HEAD":
                with st.lock:
                    st.tick()
                    st.heads += 1
                    rem = st.remaining
                return self.forward(extra_headers=st.rl_headers(rem))
            if self.command == "GET":
                return self.manifest_get()
            if self.command == "PUT" and not DIGEST_RE.match(m.group("ref")):
                def note_push(resp):
                    dig = resp.getheader("Docker-Content-Digest")
                    if resp.status in (200, 201) and dig:
                        st.seen(m.group("name"), m.group("ref"), dig)
                return self.forward(on_response=note_push)
            return self.forward()

        def manifest_get(self):
            limited = st.limit > 0
            with st.lock:
                st.tick()
                if limited and st.remaining <= 0:
                    st.rejected += 1
                    reject = True
                else:
                    reject = False
                    st.pulls += 1
                    if limited:
                        st.remaining -= 1
                    rem = st.remaining
            if reject:
                return self.send_json(429, {"errors": [{
                    "code": "TOOMANYREQUESTS",
                    "message": "You have reached your pull rate limit. You may increase the limit "
                               "by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]},
                    headers=st.rl_headers(0))

            def headers(resp):
                r = rem
                if resp.status == 401:  # not a pull: refund
                    with st.lock:
                        st.pulls -= 1
                        st.unauthorized += 1
                        if limited:
                            st.remaining = min(st.remaining + 1, st.limit)
                        r = st.remaining
                return st.rl_headers(r)

            return self.forward(on_response=headers)

        def control(self, url):
            q = parse_qs(url.query)
            if url.path == "/__stats" and self.command == "GET":
                pass
            elif url.path == "/__reset" and self.command == "POST":
                with st.lock:
                    st.pulls = st.heads = st.rejected = st.unauthorized = st.requests = 0
                    st.remaining = st.limit
                st.kinds.reset()
            elif url.path == "/__set" and self.command == "POST":
                try:
                    with st.lock:
                        if "limit" in q:
                            st.limit = st.remaining = int(q["limit"][0])
                        if "remaining" in q:
                            st.remaining = int(q["remaining"][0])
                except ValueError:
                    return self.send_json(400, {"error": "remaining/limit must be integers"})
            else:
                return self.send_json(404, {"error": "unknown control endpoint %s %s" % (self.command, url.path)})
            kinds = st.kinds.snapshot()
            with st.lock:
                return self.send_json(200, dict({
                    "pulls": st.pulls, "manifest_heads": st.heads, "rejected": st.rejected,
                    "unauthorized": st.unauthorized, "requests": st.requests,
                    "remaining": st.remaining if st.limit > 0 else None,
                    "limit": st.limit, "window": st.window}, **kinds))

    return RegistryFront


# --------------------------------------------------------------------------------------
# Upstream registry client for the Hub API (token flow, thread-local keep-alive)
# --------------------------------------------------------------------------------------
class UpstreamError(Exception):
    pass


class RegistryClient:
    def __init__(self, upstream, user):
        self.host, self.port = upstream
        self.user = user  # (name, password) or None
        self.local = threading.local()
        self.lock = threading.Lock()
        self.tokens = {}  # scope -> (token, expires_at)
        self.token_fetches = 0  # token requests sent to the realm (the API port's /__stats)
        self.challenge = None  # ("bearer", params) / ("basic", {})

    def _conn(self, fresh=False):
        c = getattr(self.local, "conn", None)
        if fresh and c is not None:
            c.close()
            c = None
        if c is None:
            c = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return c

    def _raw(self, method, path, headers):
        for attempt in (0, 1):
            conn = self._conn(fresh=attempt > 0)
            try:
                conn.request(method, path, headers=headers)
                resp = conn.getresponse()
                body = resp.read(8 << 20)
                if resp.will_close or not resp.isclosed():
                    conn.close()
                    self.local.conn = None
                return resp.status, resp, body
            except UPSTREAM_ERRORS as e:
                conn.close()
                self.local.conn = None
                if attempt:
                    raise UpstreamError("upstream %s %s: %r" % (method, path, e))

    def _parse_challenge(self, value):
        scheme, _, rest = (value or "").partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        return scheme.lower(), params

    def _token(self, scope, params):
        with self.lock:
            tok = self.tokens.get(scope)
            if tok and tok[1] > time.time():
                return tok[0]
        q = {"service": params.get("service", "")}
        if scope:
            q["scope"] = scope
        req = urllib.request.Request(params["realm"] + "?" + urlencode(q))
        with self.lock:
            self.token_fetches += 1
        if self.user:
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % self.user).encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                data = json.load(r)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise UpstreamError("token %s: %r" % (params.get("realm"), e))
        token = data.get("token") or data.get("access_token")
        life = int(data.get("expires_in") or 60)
        with self.lock:
            self.tokens[scope] = (token, time.time() + max(life - 10, 5))
        return token

    def _auth_header(self, scope):
        ch = self.challenge
        if ch is None:
            return None
        if ch[0] == "bearer":
            return "Bearer " + self._token(scope, ch[1])
        if ch[0] == "basic" and self.user:
            return "Basic " + base64.b64encode(("%s:%s" % self.user).encode()).decode()
        return None

    def request(self, method, path, scope, headers=None):
        """-> (status, HTTPResponse (headers only), body)."""
        headers = dict(headers or {})
        for attempt in (0, 1):
            h = dict(headers)
            auth = self._auth_header(scope)
            if auth:
                h["Authorization"] = auth
            status, resp, body = self._raw(method, path, h)
            if status != 401 or attempt:
                return status, resp, body
            self.challenge = self._parse_challenge(resp.getheader("WWW-Authenticate"))
            with self.lock:
                self.tokens.pop(scope, None)
        return status, resp, body

    def json(self, path, scope, accept=None):
        status, resp, body = self.request("GET", path, scope, {"Accept": accept} if accept else None)
        if status != 200:
            return status, resp, None
        try:
            return status, resp, json.loads(body)
        except ValueError:
            raise UpstreamError("bad JSON from %s" % path)

    def paged_list(self, path, scope, key):
        out, url = [], path
        while url:
            status, resp, data = self.json(url, scope)
            if status == 404:
                return None
            if status != 200:
                raise UpstreamError("%s -> HTTP %d" % (url, status))
            out += data.get(key) or []
            link = resp.getheader("Link") or ""
            m = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", link)
            url = None
            if m:
                nxt = urlsplit(m.group(1))
                url = nxt.path + ("?" + nxt.query if nxt.query else "")
        return out

    def catalog(self):
        return self.paged_list("/v2/_catalog?n=1000", "registry:catalog:*", "repositories") or []

    def tags(self, repo):
        return self.paged_list("/v2/%s/tags/list?n=1000" % repo, "repository:%s:pull" % repo, "tags")

    def head_manifest(self, repo, ref):
        status, resp, _ = self.request("HEAD", "/v2/%s/manifests/%s" % (repo, quote(ref, safe=":")),
                                       "repository:%s:pull" % repo, {"Accept": ACCEPT_ALL})
        if status != 200:
            return None
        return resp.getheader("Docker-Content-Digest"), (resp.getheader("Content-Type") or "").split(";")[0]

    def manifest(self, repo, ref):
        status, _, data = self.json("/v2/%s/manifests/%s" % (repo, ref),
                                    "repository:%s:pull" % repo, ACCEPT_ALL)
        if status != 200:
            raise UpstreamError("manifest %s@%s -> HTTP %d" % (repo, ref, status))
        return data

    def blob_json(self, repo, digest):
        status, _, data = self.json("/v2/%s/blobs/%s" % (repo, digest), "repository:%s:pull" % repo)
        return data if status == 200 else None


# --------------------------------------------------------------------------------------
# Hub API port
# --------------------------------------------------------------------------------------
class HubData:
    """Builds the Hub API objects; details cached per (repo, digest)."""

    def __init__(self, st, client):
        self.st, self.client = st, client
        self.details = {}  # (repo, digest) -> dict
        self.lock = threading.Lock()
        # two pools: repository rows fan out into tag look-ups (one pool would deadlock)
        self.repo_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hubapi-repo")
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hubapi-tag")

    def _image(self, repo, digest, man, platform=None):
        cfg = man.get("config") or {}
        layers = man.get("layers") or []
        blobs = [(cfg.get("digest"), int(cfg.get("size") or 0))] if cfg.get("digest") else []
        blobs += [(l.get("digest"), int(l.get("size") or 0)) for l in layers]
        if platform is None:
            conf = self.client.blob_json(repo, cfg["digest"]) if cfg.get("digest") else None
            platform = conf if isinstance(conf, dict) else {}
        return {"architecture": platform.get("architecture"), "os": platform.get("os"),
                "variant": platform.get("variant") or None, "digest": digest,
                "size": sum(s for _, s in blobs)}, blobs

    def detail(self, repo, digest, media_type):
        with self.lock:
            d = self.details.get((repo, digest))
        if d is not None:
            return d
        top = self.client.manifest(repo, digest)
        media_type = top.get("mediaType") or media_type
        images, blobs = [], {}
        if media_type in INDEX_TYPES or "manifests" in top:
            for entry in top.get("manifests") or []:
                ann = entry.get("annotations") or {}
                if ann.get("vnd.docker.reference.type") == "attestation-manifest":
                    continue
                if entry.get("mediaType") not in MANIFEST_TYPES[2:]:
                    continue
                child = self.client.manifest(repo, entry["digest"])
                img, b = self._image(repo, entry["digest"], child, entry.get("platform"))
                images.append(img)
                blobs.update(b)
        else:
            img, b = self._image(repo, digest, top)
            images.append(img)
            blobs.update(b)
        d = {"media_type": media_type, "images": images, "full_size": sum(blobs.values())}
        with self.lock:
            self.details[(repo, digest)] = d
        return d

    def probe(self, repo, tag):
        """HEAD the tag upstream, fetch (or reuse) its details; None if it is gone."""
        head = self.client.head_manifest(repo, tag)
        if head is None or not head[0]:
            return None
        digest, media_type = head
        return tag, digest, self.detail(repo, digest, media_type)

    def render_tag(self, repo, probed):
        tag, digest, d = probed
        t = self.st.tag_time(repo, tag, digest)  # first sight stamps it: call in order
        ts = rfc3339(t)
        return {
            "creator": 1, "id": 0, "images": [dict(i, status="active", last_pulled=None, last_pushed=ts)
                                              for i in d["images"]],
            "last_updated": ts, "last_updater": 1, "last_updater_username": "rig",
            "name": tag, "repository": 0, "full_size": d["full_size"], "v2": True,
            "tag_status": "active", "tag_last_pulled": None, "tag_last_pushed": ts,
            "media_type": d["media_type"], "content_type": "image", "digest": digest,
            "_t": t,
        }

    def tag(self, repo, tag):
        probed = self.probe(repo, tag)
        return self.render_tag(repo, probed) if probed else None

    def tags(self, repo):
        names = self.client.tags(repo)
        if names is None:
            return None
        # HEADs and details in parallel; then stamp never-seen tags in name order, so
        # tags first seen together get increasing times (newest = last by name)
        probed = [p for p in self.pool.map(lambda n: self.probe(repo, n), sorted(names)) if p]
        out = [self.render_tag(repo, p) for p in probed]
        out.sort(key=lambda t: (-t["_t"], t["name"]))
        return out

    def repo_names(self, ns):
        names = sorted(r for r in self.client.catalog()
                       if r.startswith(ns + "/") and "/" not in r[len(ns) + 1:])
        return names

    def repository(self, repo, tags=None):
        if tags is None:
            tags = self.tags(repo) or []
        ns, name = repo.split("/", 1)
        newest = max((t["_t"] for t in tags), default=None)
        ts = rfc3339(newest) if newest is not None else None
        return {"name": name, "namespace": ns, "repository_type": "image", "status": 1,
                "status_description": "active", "description": "",
                "is_private": repo in self.st.private,
                "star_count": 0, "pull_count": 0, "last_updated": ts, "last_modified": ts,
                "date_registered": rfc3339(self.st.repo_time(repo)), "affiliation": "",
                "media_types": sorted({t["media_type"] for t in tags}),
                "content_types": ["image"] if tags else [], "categories": []}


def strip_private(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def make_api_handler(st, data):
    not_found = {"message": "object not found", "errinfo": {}}

    class HubApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out as separate writes: without TCP_NODELAY the body
        # waits ~40 ms for the client's delayed ACK on a kept-alive connection
        disable_nagle_algorithm = True
        server_version = "rig-hubapi/1"

        def log_message(self, fmt, *a):
            if not getattr(self.server, "quiet", False):
                log("hubapi", "%s %s" % (self.address_string(), fmt % a))

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(16)
                return b"".join(chunks)
            return self.rfile.read(n) if n else b""

        def send_json(self, code, obj, headers=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in list(headers) + list(getattr(self, "_rl", [])):
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def rate_limit(self):
            """True = go on; False = a 429 was sent."""
            with st.lock:
                st.api_requests += 1
                if st.api_limit <= 0:
                    self._rl = []
                    return True
                now = time.time()
                if st.api_reset_at is not None and now >= st.api_reset_at:
                    st.api_remaining, st.api_reset_at = st.api_limit, None
                ok = st.api_remaining > 0
                if ok:
                    st.api_remaining -= 1
                    if st.api_remaining == 0:
                        st.api_reset_at = math.ceil(now + st.api_window)
                else:
                    st.api_rejected += 1
                reset = st.api_reset_at or math.ceil(now + st.api_window)
                self._rl = [("X-RateLimit-Limit", str(st.api_limit)),
                            ("X-RateLimit-Remaining", str(st.api_remaining)),
                            ("X-RateLimit-Reset", str(reset))]
            if not ok:
                self.send_json(429, {"detail": "Rate limit exceeded"}, headers=[("X-Retry-After", str(reset))])
            return ok

        def page(self, items, url, render):
            q = parse_qs(url.query)
            try:
                page = int(q.get("page", ["1"])[0])
                size = int(q.get("page_size", ["10"])[0])
            except ValueError:
                return self.send_json(400, {"message": "invalid page or page_size", "errinfo": {}})
            if page < 1 or size < 1:
                return self.send_json(400, {"message": "invalid page or page_size", "errinfo": {}})
            size = min(size, 100)
            count = len(items)
            start = (page - 1) * size
            if start >= count and page > 1:
                return self.send_json(404, not_found)
            base = "http://%s%s" % (self.headers.get("Host") or "%s:%d" % self.server.server_address[:2],
                                    url.path)

            def link(p):
                qq = {k: v[0] for k, v in q.items()}
                qq.update(page=str(p), page_size=str(size))
                return base + "?" + urlencode(qq)
            results = render(items[start:start + size])
            self.send_json(200, {"count": count,
                                 "next": link(page + 1) if start + size < count else None,
                                 "previous": link(page - 1) if page > 1 else None,
                                 "results": results})

        def check_bearer(self):
            auth = self.headers.get("Authorization") or ""
            scheme, _, tok = auth.partition(" ")
            self._authed = False
            if scheme.lower() == "bearer" and tok.strip():
                with st.lock:
                    known = tok.strip() in st.api_tokens
                if not known:
                    self.send_json(401, {"detail": "Invalid token"})
                    return False
                self._authed = True
            return True

        def visible(self, repo):
            with st.lock:
                return self._authed or repo not in st.private

        def do_GET(self):
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            if url.path == "/__stats":
                with st.lock:
                    stats = {"api_requests": st.api_requests, "rejected": st.api_rejected,
                             "remaining": st.api_remaining if st.api_limit > 0 else None,
                             "limit": st.api_limit}
                with data.client.lock:
                    stats["upstream_tokens"] = data.client.token_fetches
                return self.send_json(200, stats)
            if not self.rate_limit() or not self.check_bearer():
                return
            # normalise the older /v2/repositories/NS[/REPO[/tags[/TAG]]] form
            if parts[:2] == ["v2", "repositories"] and len(parts) >= 3:
                parts = ["v2", "namespaces", parts[2], "repositories"] + parts[3:]
            if parts[:2] != ["v2", "namespaces"] or len(parts) < 4 or parts[3] != "repositories":
                return self.send_json(404, not_found)
            ns = parts[2]
            try:
                if len(parts) == 4:
                    names = [n for n in data.repo_names(ns) if self.visible(n)]
                    if not names:
                        return self.send_json(404, not_found)

                    def render(chunk):
                        for n in chunk:  # registration times in name order
                            st.repo_time(n)
                        return [strip_private(r) for r in data.repo_pool.map(
                            lambda n: data.repository(n), chunk)]
                    return self.page(names, url, render)
                repo = ns + "/" + parts[4]
                if not self.visible(repo):
                    return self.send_json(404, not_found)
                if len(parts) == 5:
                    tags = data.tags(repo)
                    if tags is None:
                        return self.send_json(404, not_found)
                    return self.send_json(200, strip_private(data.repository(repo, tags)))
                if parts[5] != "tags" or len(parts) > 7:
                    return self.send_json(404, not_found)
                if len(parts) == 7:
                    t = data.tag(repo, parts[6])
                    return self.send_json(200, strip_private(t)) if t else self.send_json(404, not_found)
                tags = data.tags(repo)
                if tags is None:
                    return self.send_json(404, not_found)
                return self.page(tags, url, lambda chunk: [strip_private(t) for t in chunk])
            except UpstreamError as e:
                log("hubapi", "upstream: %s" % e)
                return self.send_json(502, {"message": "upstream registry: %s" % e, "errinfo": {}})

        def do_POST(self):
            url = urlsplit(self.path)
            body = self.read_body()
            q = parse_qs(url.query)
            if url.path == "/__reset":
                with st.lock:
                    st.api_requests = st.api_rejected = 0
                    st.api_remaining, st.api_reset_at = st.api_limit, None
                with data.client.lock:
                    data.client.token_fetches = 0
                return self.send_json(200, {"api_requests": 0, "rejected": 0})
            if url.path == "/__private":
                repo = q.get("repo", [None])[0]
                if not repo or "/" not in repo:
                    return self.send_json(400, {"error": "want repo=NS/NAME"})
                private = q.get("private", ["1"])[0] not in ("0", "false")
                with st.lock:
                    (st.private.add if private else st.private.discard)(repo)
                return self.send_json(200, {"repo": repo, "is_private": private})
            if url.path == "/__tags_updated":
                repo, tag, when = (q.get(k, [None])[0] for k in ("repo", "tag", "time"))
                if not (repo and tag and when):
                    return self.send_json(400, {"error": "want repo, tag and time"})
                try:
                    t = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
                    if t.tzinfo is None:
                        t = t.replace(tzinfo=dt.timezone.utc)
                except ValueError:
                    return self.send_json(400, {"error": "time must be RFC3339"})
                try:
                    head = data.client.head_manifest(repo, tag)
                except UpstreamError as e:
                    return self.send_json(502, {"error": str(e)})
                with st.lock:
                    st.override[(repo, tag)] = (t.timestamp(), head[0] if head else None)
                return self.send_json(200, {"repo": repo, "tag": tag, "last_updated": rfc3339(t.timestamp()),
                                            "digest": head[0] if head else None})
            if not self.rate_limit():
                return
            if url.path.rstrip("/") in ("/v2/auth/token", "/v2/users/login"):
                try:
                    obj = json.loads(body or b"{}")
                except ValueError:
                    return self.send_json(400, {"detail": "invalid JSON"})
                login = url.path.rstrip("/").endswith("login")
                ident = obj.get("username" if login else "identifier")
                secret = obj.get("password" if login else "secret")
                if st.hub_user is None or (ident, secret) != st.hub_user:
                    return self.send_json(401, {"detail": "Incorrect authentication credentials"})
                tok = "rig_" + secrets.token_urlsafe(32)
                with st.lock:
                    st.api_tokens.add(tok)
                return self.send_json(200, {"token": tok} if login else {"access_token": tok})
            return self.send_json(404, {"message": "object not found", "errinfo": {}})

        def do_HEAD(self):
            return self.send_json(405, {"detail": "method not allowed"})

    return HubApi


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the Hub stand-in registry")
    p.add_argument("--limit", type=int, default=100, help="pulls per window; 0 = unlimited (no headers)")
    p.add_argument("--window", type=int, default=21600)
    p.add_argument("--refill", action="store_true", help="refill the pulls every --window seconds")
    p.add_argument("--source", default="127.0.0.1")
    p.add_argument("--upstream-user", help="NAME:PASSWORD for the upstream token flow and /v2/auth/token")
    p.add_argument("--api-limit", type=int, default=0, help="Hub API requests before 429; 0 = unlimited")
    p.add_argument("--api-window", type=float, default=2.0,
                   help="seconds after the API counter runs out until it refills")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = p.parse_args()
    if args.upstream_user and ":" not in args.upstream_user:
        p.error("--upstream-user wants NAME:PASSWORD")
    try:
        upstream = parse_upstream(args.upstream)
    except ValueError as e:
        p.error(str(e))

    st = State(args)
    client = RegistryClient(upstream, st.hub_user)
    reg = ProxyServer(("127.0.0.1", 0), make_registry_handler(st), upstream, args.quiet)
    reg.kinds = st.kinds
    api = ProxyServer(("127.0.0.1", 0), make_api_handler(st, HubData(st, client)), upstream, args.quiet)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    print("LISTENING registry=http://%s:%d hubapi=http://%s:%d"
          % (reg.server_address[:2] + api.server_address[:2]), flush=True)
    try:
        reg.serve_forever()
    except KeyboardInterrupt:
        pass
    reg.server_close()
    api.server_close()


if __name__ == "__main__":
    main()
