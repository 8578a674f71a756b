#!/usr/bin/env python3
"""ECR behaviour in front of the ECR data-plane registry (repositories and tag immutability from moto).

    .rig/venv/bin/python rig/ecrfront.py --upstream http://127.0.0.1:REGPORT \
        --moto http://127.0.0.1:MOTOPORT [--account 123456789012] [--region us-east-1] \
        [--cache-ttl 0.5] [--referrers-page 0] [--referrers-state FILE] \
        [--api --registry-auth AWS:PASSWORD] [--quiet]

Prints exactly one line "LISTENING http://127.0.0.1:PORT" on stdout when ready (with
--api: "LISTENING http://127.0.0.1:PORT api=http://127.0.0.1:APIPORT"); logs go to stderr. A streaming HTTP/1.1 proxy (the core is rig/hubfront.py's ProxyHandler,
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
  * the OCI 1.1 referrers API, which the CNCF distribution 2.8 lacks and ECR documents:
    a manifest PUT whose body has a "subject" is recorded (repository, subject digest ->
    descriptor with artifactType and annotations) once the registry stored it, and the
    answer carries "OCI-Subject: <subject digest>"; a DELETE by digest forgets it.
    GET/HEAD /v2/<name>/referrers/<digest>[?artifactType=T] answers an OCI image index of
    the recorded referrers (filtered, with "OCI-Filters-Applied: artifactType");
    --referrers-page N > 0 pages it N entries at a time (Link: <...?last=D>; rel="next").
    --referrers-state FILE keeps the records across restarts (scripts/rig).
  /v2/, /v2/_catalog and everything else pass through untouched.
  --api: a second listener proxies the ECR API to moto, except BatchDeleteImage, which it
  applies to the registry (moto never sees /v2 pushes): each imageTag is removed alone,
  as ECR does (the registry deletes by digest, so other tags of that digest are put
  back), each imageDigest with all its tags; answers ECR's {"imageIds","failures"}
  (ImageNotFound for what is missing). --registry-auth is the data plane's user:password.
  GET  /__stats  {"manifest_puts" (every manifest PUT received), "rejected_immutable",
                  "name_unknown" (404s sent), "blob_uploads" (every POST .../blobs/uploads/),
                  "manifest_gets" (GETs of manifests), "manifest_heads", "referrers_gets",
                  "moto_calls", "moto_errors"}
  POST /__reset  zero the counters and drop the repository cache
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, quote, urlsplit

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
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MAX_MANIFEST = 8 << 20


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
        self.manifest_gets = self.manifest_heads = self.referrers_gets = 0

    def bump(self, field):
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


class Referrers:
    """(repository, subject digest) -> {digest: descriptor}, optionally kept in a file."""

    def __init__(self, path):
        self.path, self.lock, self.data = path, threading.Lock(), {}
        if path and os.path.exists(path):
            with open(path) as f:
                for name, subject, desc in json.load(f):
                    self.data.setdefault((name, subject), {})[desc["digest"]] = desc

    def _save(self):
        if not self.path:
            return
        rows = [[n, s, d] for (n, s), m in self.data.items() for d in m.values()]
        with open(self.path + ".tmp", "w") as f:
            json.dump(rows, f)
        os.replace(self.path + ".tmp", self.path)

    def add(self, name, subject, desc):
        with self.lock:
            self.data.setdefault((name, subject), {})[desc["digest"]] = desc
            self._save()

    def forget(self, name, digest):
        with self.lock:
            for (n, _), m in self.data.items():
                if n == name:
                    m.pop(digest, None)
            self._save()

    def list(self, name, subject):
        with self.lock:
            return sorted(self.data.get((name, subject), {}).values(), key=lambda d: d["digest"])


def make_handler(args, moto, stats, refs):
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
            if kind == "manifest" and self.command == "GET":
                stats.bump("manifest_gets")
            if kind == "manifest" and self.command == "HEAD":
                stats.bump("manifest_heads")
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
            if kind == "referrers" and self.command in ("GET", "HEAD"):
                return self.referrers(name, ref, url)
            if kind == "manifest" and self.command == "DELETE" and ref.startswith("sha256:"):
                resp = self.forward()
                if resp is not None and 200 <= resp.status < 300:
                    refs.forget(name, ref)
                return resp
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
                    return self.put_manifest(name)
            if kind == "manifest" and self.command == "PUT":
                return self.put_manifest(name)
            return self.forward()

        def put_manifest(self, name):
            """Forward a manifest PUT; record a `subject` once the registry stored it."""
            mode, n = self.body_mode()
            if mode != "length" or n > MAX_MANIFEST:
                return self.forward()
            body = b"".join(self.iter_body())
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            subject = (doc.get("subject") or {}).get("digest") if isinstance(doc, dict) else None
            hdrs = [(k, v) for k, v in self.forward_headers()] + [("Content-Length", str(len(body)))]
            try:
                conn = self._upstream(fresh=True)
                conn.putrequest("PUT", self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in hdrs:
                    conn.putheader(k, v)
                conn.endheaders()
                conn.send(body)
                resp = conn.getresponse()
            except UPSTREAM_ERRORS as e:
                self._close_upstream()
                return self.send_json(502, {"errors": [{"code": "UNAVAILABLE", "message": "ecrfront: %r" % e}]})
            extra = []
            if subject and 200 <= resp.status < 300:
                desc = {"mediaType": doc.get("mediaType") or self.headers.get("Content-Type"),
                        "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body)}
                atype = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
                if atype:
                    desc["artifactType"] = atype
                if doc.get("annotations"):
                    desc["annotations"] = doc["annotations"]
                refs.add(name, subject, desc)
                extra.append(("OCI-Subject", subject))
            self.relay(resp, extra)
            return resp

        def referrers(self, name, subject, url):
            if self.side_status("GET", "/v2/") == 401:
                return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                                      headers=[("WWW-Authenticate", 'Basic realm="ecr"')] + self.dist_headers())
            if not re.match(r"^sha256:[0-9a-f]{64}$", subject):
                return self.send_json(400, {"errors": [{"code": "DIGEST_INVALID", "message": "invalid digest"}]},
                                      headers=self.dist_headers())
            stats.bump("referrers_gets")
            q = parse_qs(url.query)
            items = refs.list(name, subject)
            headers = self.dist_headers()
            if q.get("artifactType"):
                items = [d for d in items if d.get("artifactType") == q["artifactType"][0]]
                headers.append(("OCI-Filters-Applied", "artifactType"))
            if q.get("last"):
                items = [d for d in items if d["digest"] > q["last"][0]]
            if args.referrers_page > 0 and len(items) > args.referrers_page:
                items = items[:args.referrers_page]
                nq = "last=%s" % quote(items[-1]["digest"])
                if q.get("artifactType"):
                    nq += "&artifactType=%s" % quote(q["artifactType"][0], safe="")
                headers.append(("Link", '</v2/%s/referrers/%s?%s>; rel="next"' % (name, subject, nq)))
            return self.send_json(200, {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": items},
                                  headers=headers, content_type=MT_INDEX)

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
                    "manifest_gets": stats.manifest_gets, "manifest_heads": stats.manifest_heads,
                    "referrers_gets": stats.referrers_gets,
                    "moto_calls": moto.calls, "moto_errors": moto.errors})

    return EcrFront


class DataPlane:
    """Plain requests to the data-plane registry with its own credentials."""

    def __init__(self, upstream, userpass):
        self.host, self.port = upstream
        self.auth = "Basic " + base64.b64encode(userpass.encode()).decode()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            h = {"Authorization": self.auth, "Accept": ACCEPT_ALL, **(headers or {})}
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
        finally:
            conn.close()

    def digest(self, name, ref):
        status, h, _ = self.request("HEAD", "/v2/%s/manifests/%s" % (name, ref))
        return h.get("docker-content-digest") if status == 200 else None

    def tags(self, name):
        status, _, body = self.request("GET", "/v2/%s/tags/list?n=10000" % name)
        return (json.loads(body).get("tags") or []) if status == 200 else []

    def delete(self, name, tag=None, digest=None):
        """Remove one tag (ECR semantics) or a digest with all its tags; the failure or None."""
        digest = digest or self.digest(name, tag)
        if digest is None:
            return "ImageNotFound", digest
        keep = []
        if tag is not None:
            keep = [t for t in self.tags(name) if t != tag and self.digest(name, t) == digest]
        status, h, body = self.request("GET", "/v2/%s/manifests/%s" % (name, digest))
        if status != 200:
            return "ImageNotFound", digest
        ctype = h.get("content-type", "application/vnd.oci.image.manifest.v1+json")
        status, _, _ = self.request("DELETE", "/v2/%s/manifests/%s" % (name, digest))
        if status not in (200, 202):
            return "InvalidImageDigest", digest
        for t in keep:  # ECR removes one tag: put the others back
            self.request("PUT", "/v2/%s/manifests/%s" % (name, t), body=body, headers={"Content-Type": ctype})
        return None, digest


def make_api_handler(moto, plane, refs):
    class ApiFront(ProxyHandler):
        prog = "ecrfront-api"

        def route(self):
            if self.command == "POST" and self.headers.get("X-Amz-Target") == TARGET + "BatchDeleteImage":
                return self.batch_delete()
            return self.forward()

        def batch_delete(self):
            req = json.loads(b"".join(self.iter_body()) or b"{}")
            name = req.get("repositoryName", "")
            try:
                repo = moto.repository(name)
            except MotoError as e:
                return self.send_json(500, {"__type": "ServerException", "message": str(e)})
            if repo is None:
                return self.send_json(400, {"__type": "RepositoryNotFoundException",
                                            "message": "The repository with name '%s' does not exist" % name},
                                      content_type="application/x-amz-json-1.1")
            done, failures = [], []
            for image_id in req.get("imageIds") or []:
                failure, digest = plane.delete(name, tag=image_id.get("imageTag"),
                                               digest=image_id.get("imageDigest"))
                if failure:
                    failures.append({"imageId": image_id, "failureCode": failure,
                                     "failureReason": "Requested image not found"})
                else:
                    refs.forget(name, digest)
                    done.append(dict(image_id, imageDigest=digest))
            return self.send_json(200, {"imageIds": done, "failures": failures},
                                  content_type="application/x-amz-json-1.1")

    return ApiFront


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the htpasswd registry")
    p.add_argument("--moto", required=True, help="http://127.0.0.1:PORT of moto_server")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--cache-ttl", type=float, default=0.5,
                   help="seconds a found repository's settings are reused (0 = ask moto every time)")
    p.add_argument("--referrers-page", type=int, default=0,
                   help="referrers API page size (0 = everything in one answer)")
    p.add_argument("--referrers-state", help="file that keeps the recorded referrers across restarts")
    p.add_argument("--api", action="store_true", help="also proxy the ECR API (BatchDeleteImage applied here)")
    p.add_argument("--registry-auth", default="AWS:123456789012-auth-token",
                   help="user:password of the data-plane registry (for --api)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = p.parse_args()
    try:
        upstream = parse_upstream(args.upstream)
        moto = Moto(args.moto, args.region, args.cache_ttl)
    except ValueError as e:
        p.error(str(e))
    refs = Referrers(args.referrers_state)
    httpd = ProxyServer(("127.0.0.1", 0), make_handler(args, moto, Stats(), refs), upstream, args.quiet)
    line = "LISTENING http://%s:%d" % httpd.server_address[:2]
    if args.api:
        plane = DataPlane(upstream, args.registry_auth)
        api = ProxyServer(("127.0.0.1", 0), make_api_handler(moto, plane, refs),
                          parse_upstream(args.moto), args.quiet)
        threading.Thread(target=api.serve_forever, daemon=True).start()
        line += " api=http://%s:%d" % api.server_address[:2]
    print(line, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()


if __name__ == "__main__":
    main()
