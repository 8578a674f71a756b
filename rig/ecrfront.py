#!/usr/bin/env python3
"""ECR behaviour in front of the ECR data-plane registry (repositories and tag immutability from moto).

    .rig/venv/bin/python rig/ecrfront.py --upstream http://127.0.0.1:REGPORT \
        --moto http://127.0.0.1:MOTOPORT [--account 123456789012] [--region us-east-1] \
        [--cache-ttl 0.5] [--quiet]

Prints exactly one line "LISTENING http://127.0.0.1:PORT" on stdout when ready; logs
go to stderr. A streaming HTTP/1.1 proxy (the core is rig/hubfront.py's ProxyHandler,
imported from beside this file) to the htpasswd registry, which checks the Basic
credentials AWS:<account>-auth-token itself (Authorization is passed through).

For each /v2/<name>/{manifests,blobs,tags,referrers}/... request the front asks moto
(DescribeRepositories, ECR JSON protocol) about <name>; a found repository is cached
for --cache-ttl seconds, a missing one is never cached (CreateRepository is seen at once):
  * missing repository -> 404 NAME_UNKNOWN "The repository with name '<name>' does not
    exist in the registry with id '<account>'" (pushes and pulls alike). Requests whose
    credentials the registry refuses get the registry's 401 instead, as on ECR.
  * a PUT /v2/<name>/manifests/<tag> (a tag, not a digest) on a tag that is immutable
    (IMMUTABLE; IMMUTABLE_WITH_EXCLUSION unless a filter matches; MUTABLE_WITH_EXCLUSION
    when a filter matches; WILDCARD filters, "*" = any run of characters) and already
    exists upstream (HEAD with the caller's Authorization and all four manifest types)
    -> 400 TAG_INVALID "The image tag '<tag>' already exists in the '<name>' repository
    and cannot be overwritten because the repository is immutable." (even when the
    digest is the same, as ECR does). Check and PUT are serialised per (name, tag).
  /v2/, /v2/_catalog and everything else pass through untouched.
  GET  /__stats  {"manifest_puts" (every manifest PUT received), "rejected_immutable",
                  "name_unknown" (404s sent), "blob_uploads" (every POST .../blobs/uploads/),
                  "moto_calls", "moto_errors"}
  POST /__reset  zero the counters and drop the repository cache
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # no rig/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hubfront import (ACCEPT_ALL, UPSTREAM_ERRORS, ProxyHandler, ProxyServer,  # noqa: E402
                      log, parse_upstream)

ROUTES = [  # (kind, pattern) -- order matters: uploads before plain blobs
    ("manifest", re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")),
    ("upload", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?(?P<ref>[^/]*)$")),
    ("blob", re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<ref>[^/]+)$")),
    ("tags", re.compile(r"^/v2/(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<ref>[^/]+)$")),
]
TARGET = "AmazonEC2ContainerRegistry_V20150921."


class MotoError(Exception):
    pass


class Moto:
    """DescribeRepositories against moto's ECR JSON API (thread-local keep-alive)."""

    def __init__(self, url, region, ttl):
        self.host, self.port = parse_upstream(url)
        self.region, self.ttl = region, ttl
        # moto routes on the SigV4 credential scope (service "ecr", region); without an
        # Authorization header it takes the request for S3
        self.auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/%s/ecr/aws4_request, "
                     "SignedHeaders=host, Signature=x" % region)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.cache = {}  # name -> (expires, repository dict)
        self.calls = self.errors = 0

    def call(self, action, payload):
        body = json.dumps(payload).encode()
        headers = {"X-Amz-Target": TARGET + action, "Content-Type": "application/x-amz-json-1.1",
                   "Authorization": self.auth, "Content-Length": str(len(body))}
        with self.lock:
            self.calls += 1
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            if conn is None or attempt:
                if conn is not None:
                    conn.close()
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                    self.local.conn = None
                break
            except UPSTREAM_ERRORS as e:
                conn.close()
                self.local.conn = None
                if attempt:
                    with self.lock:
                        self.errors += 1
                    raise MotoError("moto %s: %r" % (action, e))
        try:
            obj = json.loads(data or b"{}")
        except ValueError:
            obj = {"__type": "HTTP %d" % resp.status, "message": data[:200].decode("utf-8", "replace")}
        return resp.status, obj

    def repository(self, name):
        """The DescribeRepositories entry, or None when moto has no such repository."""
        now = time.monotonic()
        with self.lock:
            hit = self.cache.get(name)
            if hit and hit[0] > now:
                return hit[1]
        status, obj = self.call("DescribeRepositories", {"repositoryNames": [name]})
        if status == 200 and obj.get("repositories"):
            repo = obj["repositories"][0]
            with self.lock:
                self.cache[name] = (now + self.ttl, repo)
            return repo
        if "RepositoryNotFoundException" in str(obj.get("__type", "")):
            with self.lock:
                self.cache.pop(name, None)
            return None
        with self.lock:
            self.errors += 1
        raise MotoError("moto DescribeRepositories %s: HTTP %d %s" % (name, status, obj))


def wildcard(filter_text):
    return re.compile("^" + ".*".join(re.escape(p) for p in filter_text.split("*")) + "$")


def tag_immutable(repo, tag):
    mode = repo.get("imageTagMutability") or "MUTABLE"
    filters = [f.get("filter", "") for f in repo.get("imageTagMutabilityExclusionFilters") or []
               if f.get("filterType", "WILDCARD") == "WILDCARD"]
    matched = any(wildcard(f).match(tag) for f in filters)
    if mode == "IMMUTABLE":
        return True
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not matched
    if mode == "MUTABLE_WITH_EXCLUSION":
        return matched
    return False


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.manifest_puts = self.rejected_immutable = self.name_unknown = self.blob_uploads = 0

    def bump(self, field):
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


def make_handler(args, moto, stats):
    tag_locks, tag_locks_guard = {}, threading.Lock()

    def tag_lock(key):
        with tag_locks_guard:
            return tag_locks.setdefault(key, threading.Lock())

    class EcrFront(ProxyHandler):
        prog = "ecrfront"
        server_version = "rig-ecrfront/1"

        def route(self):
            url = urlsplit(self.path)
            if url.path.startswith("/__"):
                return self.control(url)
            for kind, rx in ROUTES:
                m = rx.match(url.path)
                if m:
                    break
            else:
                return self.forward()  # /v2/, /v2/_catalog, anything else
            name = m.group("name")
            if kind == "manifest" and self.command == "PUT":
                stats.bump("manifest_puts")
            if kind == "upload" and self.command == "POST":
                stats.bump("blob_uploads")
            try:
                repo = moto.repository(name)
            except MotoError as e:
                log(self.prog, str(e))
                return self.send_json(502, {"errors": [{"code": "UNAVAILABLE",
                                                        "message": "ecrfront: %s" % e}]})
            if repo is None:
                return self.name_unknown(name)
            ref = m.groupdict().get("ref") or ""
            if kind == "manifest" and self.command == "PUT" and ":" not in ref and tag_immutable(repo, ref):
                with tag_lock((name, ref)):
                    if self.side_status("HEAD", "/v2/%s/manifests/%s" % (name, ref)) == 200:
                        stats.bump("rejected_immutable")
                        return self.send_json(400, {"errors": [{
                            "code": "TAG_INVALID",
                            "message": "The image tag '%s' already exists in the '%s' repository and "
                                       "cannot be overwritten because the repository is immutable."
                                       % (ref, name)}]}, headers=self.dist_headers(),
                            content_type="application/json; charset=utf-8")
                    return self.forward()
            return self.forward()

        def dist_headers(self):
            return [("Docker-Distribution-Api-Version", "registry/2.0")]

        def side_status(self, method, path):
            """Status of a bodyless request upstream with the caller's credentials
            (a separate connection: the caller's body stays unread)."""
            host, port = self.server.upstream
            conn = http.client.HTTPConnection(host, port, timeout=60)
            headers = {"Host": self.headers.get("Host") or "%s:%d" % (host, port), "Accept": ACCEPT_ALL}
            if self.headers.get("Authorization"):
                headers["Authorization"] = self.headers["Authorization"]
            try:
                conn.request(method, path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                return resp.status
            except UPSTREAM_ERRORS as e:
                log(self.prog, "side request %s %s: %r" % (method, path, e))
                return None
            finally:
                conn.close()

        def name_unknown(self, name):
            if self.side_status("GET", "/v2/") == 401:
                return self.forward()  # bad/no credentials: let the registry say 401
            stats.bump("name_unknown")
            return self.send_json(404, {"errors": [{
                "code": "NAME_UNKNOWN",
                "message": "The repository with name '%s' does not exist in the registry with id '%s'"
                           % (name, args.account)}]}, headers=self.dist_headers(),
                content_type="application/json; charset=utf-8")

        def control(self, url):
            if url.path == "/__reset" and self.command == "POST":
                with stats.lock:
                    stats.reset()
                with moto.lock:
                    moto.cache.clear()
                    moto.calls = moto.errors = 0
            elif not (url.path == "/__stats" and self.command == "GET"):
                return self.send_json(404, {"error": "unknown control endpoint %s %s" % (self.command, url.path)})
            with stats.lock, moto.lock:
                return self.send_json(200, {
                    "manifest_puts": stats.manifest_puts, "rejected_immutable": stats.rejected_immutable,
                    "name_unknown": stats.name_unknown, "blob_uploads": stats.blob_uploads,
                    "moto_calls": moto.calls, "moto_errors": moto.errors})

    return EcrFront


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the htpasswd registry")
    p.add_argument("--moto", required=True, help="http://127.0.0.1:PORT of moto_server")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--cache-ttl", type=float, default=0.5,
                   help="seconds a found repository's settings are reused (0 = ask moto every time)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = p.parse_args()
    try:
        upstream = parse_upstream(args.upstream)
        moto = Moto(args.moto, args.region, args.cache_ttl)
    except ValueError as e:
        p.error(str(e))
    httpd = ProxyServer(("127.0.0.1", 0), make_handler(args, moto, Stats()), upstream, args.quiet)
    print("LISTENING http://%s:%d" % httpd.server_address[:2], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()


if __name__ == "__main__":
    main()
