#!/usr/bin/env python3
"""Push everything in an OCI image layout to a registry, byte for byte (stdlib only).

    python3 rig/pushlayout.py LAYOUT_DIR http://127.0.0.1:PORT REPO [--user U:P]
        [--no-fallback-tags] [--only-tag TAG]...

Every blob, then every manifest by digest (image manifests and artifacts first,
indexes once their children are there), then every tag of index.json (entries
without a ref name are pushed by digest only). Manifests go up as their exact bytes,
so digests are kept, "subject" included: a registry with the referrers API (the ECR
stand-in's front) records the referrers. --no-fallback-tags skips the referrers tag
schema's "sha256-<hex>" tags (for a registry that serves the API). --only-tag pushes
just those tags (and what they reference). Auth follows the registry's challenge:
Basic, or a Bearer token from the realm it names (with --user). Prints one JSON line
{"blobs", "manifests", "tags"}.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
FALLBACK = re.compile(r"^sha256-[0-9a-f]{64}$")


class Registry:
    def __init__(self, base, repo, user):
        self.base, self.repo, self.user = base.rstrip("/"), repo, user
        self.auth = None

    def _challenge(self, header):
        scheme, _, params = header.partition(" ")
        if scheme.lower() == "basic":
            return "Basic " + base64.b64encode(self.user.encode()).decode()
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        q = urllib.parse.urlencode({"service": fields.get("service", ""),
                                    "scope": "repository:%s:pull,push" % self.repo})
        req = urllib.request.Request(fields["realm"] + "?" + q)
        if self.user:
            req.add_header("Authorization", "Basic " + base64.b64encode(self.user.encode()).decode())
        with urllib.request.urlopen(req) as r:
            body = json.load(r)
        return "Bearer " + (body.get("token") or body.get("access_token"))

    def call(self, method, path, body=None, headers=None, full_url=None):
        url = full_url or self.base + "/v2/" + path
        for attempt in (0, 1):
            req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
            if self.auth:
                req.add_header("Authorization", self.auth)
            try:
                with urllib.request.urlopen(req) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 0:
                    self.auth = self._challenge(e.headers.get("WWW-Authenticate", ""))
                    continue
                if method == "HEAD" and e.code == 404:
                    return 404, e.headers, b""
                raise SystemExit("pushlayout: %s %s: HTTP %d %s" % (method, url, e.code, e.read()[:300]))
        raise SystemExit("pushlayout: %s %s: unauthorized" % (method, url))

    def push_blob(self, digest, data):
        if self.call("HEAD", "%s/blobs/%s" % (self.repo, digest))[0] == 200:
            return False
        _, h, _ = self.call("POST", "%s/blobs/uploads/" % self.repo, body=b"")
        loc = urllib.parse.urljoin(self.base + "/", h["Location"])
        sep = "&" if "?" in loc else "?"
        self.call("PUT", None, body=data, full_url=loc + sep + "digest=" + urllib.parse.quote(digest),
                  headers={"Content-Type": "application/octet-stream"})
        return True

    def push_manifest(self, ref, data, media_type):
        self.call("PUT", "%s/manifests/%s" % (self.repo, ref), body=data,
                  headers={"Content-Type": media_type})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("layout")
    p.add_argument("registry", help="http://127.0.0.1:PORT")
    p.add_argument("repo")
    p.add_argument("--user", default="", help="user:password")
    p.add_argument("--no-fallback-tags", action="store_true")
    p.add_argument("--only-tag", action="append", default=[])
    a = p.parse_args()

    blob_dir = os.path.join(a.layout, "blobs", "sha256")
    read = lambda d: open(os.path.join(blob_dir, d.split(":", 1)[1]), "rb").read()  # noqa: E731
    with open(os.path.join(a.layout, "index.json")) as f:
        entries = json.load(f)["manifests"]
    ref_name = lambda e: (e.get("annotations") or {}).get("org.opencontainers.image.ref.name")  # noqa: E731
    if a.only_tag:
        entries = [e for e in entries if ref_name(e) in a.only_tag]
    if a.no_fallback_tags:
        entries = [e for e in entries if not FALLBACK.match(ref_name(e) or "")]

    # the manifest tree below the entries: children before parents
    order, seen = [], set()

    def walk(desc):
        if desc["digest"] in seen:
            return
        seen.add(desc["digest"])
        doc = json.loads(read(desc["digest"]))
        for child in doc.get("manifests") or []:
            walk(child)
        order.append((desc["digest"], desc["mediaType"], doc))

    for e in entries:
        walk(e)
    reg = Registry(a.registry, a.repo, a.user)
    blobs = 0
    for digest, _, doc in order:
        for b in [doc.get("config")] + (doc.get("layers") or []):
            if b and reg.push_blob(b["digest"], read(b["digest"])):
                blobs += 1
    for digest, media_type, _ in order:
        data = read(digest)
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        reg.push_manifest(digest, data, media_type)
    tags = 0
    for e in entries:
        if ref_name(e):
            reg.push_manifest(ref_name(e), read(e["digest"]), e["mediaType"])
            tags += 1
    print(json.dumps({"blobs": blobs, "manifests": len(order), "tags": tags}), flush=True)


if __name__ == "__main__":
    main()
