#!/usr/bin/env python3
"""Build a test image as an OCI image layout, with the Python stdlib only.

    python3 rig/mkimage.py OUT_DIR --tag TAG [--platforms linux/amd64,linux/arm64]
        [--layers 3] [--size 8M] [--shared-layers 1] [--seed 42] [--single] [--referrers [--referrers-seed S]]

--size is the total of all distinct layer blobs (K/M/G = KiB/MiB/GiB), split evenly;
the first --shared-layers layers are the same blob on every platform. Layers are
uncompressed tars (application/vnd.oci.image.layer.v1.tar, so diff_id = digest)
holding one file of seeded pseudo-random bytes, hashed while written. The same
arguments and seed give a byte-identical layout. By default the top is an OCI image
index with one manifest per platform; --single (one platform) makes the manifest the
top. index.json gets (or has replaced) the entry for TAG, so tags can share a layout.
Prints {"digest", "media_type", "blobs", "bytes"} as one JSON line.

--referrers adds supply-chain artifacts, as OCI 1.1 manifests with "subject" (untagged,
listed in index.json without a ref name) and under the tags of the two tag schemes:
an SBOM (artifactType application/spdx+json) and an in-toto attestation
(application/vnd.in-toto+json) of the top, a signature of the SBOM
(application/vnd.cncf.notary.signature, a referrer of a referrer), an SBOM of every
platform's manifest (with an index), the fallback tags sha256-<hex> (an index of each
subject's referrers) and a cosign-style signature tag sha256-<top hex>.sig. The JSON
then has "referrers": {"sbom", "attestation", "sbom_signature", "cosign_sig",
"cosign_tag", "platform_sboms": {platform: digest}, "fallback_tags": [...]}.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_EMPTY = "application/vnd.oci.empty.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
CHUNK = 8 << 20
TAR_OVERHEAD = 512 + 1024  # one header block + the two end-of-archive blocks


def parse_size(text):
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * mult)


def parse_platform(text):
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        sys.exit("mkimage: bad platform %r (want os/arch[/variant])" % text)
    plat = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        plat["variant"] = parts[2]
    return plat


class Layout:
    def __init__(self, root):
        self.root = root
        self.blob_dir = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blob_dir, exist_ok=True)
        self.count = 0
        self.bytes = 0

    def _commit(self, tmp, digest, size):
        final = os.path.join(self.blob_dir, digest)
        if os.path.exists(final) and os.path.getsize(final) == size:
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
        self.count += 1
        self.bytes += size
        return {"digest": "sha256:" + digest, "size": size}

    def put_bytes(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        tmp = os.path.join(self.blob_dir, ".tmp-%d-%s" % (os.getpid(), digest))
        with open(tmp, "wb") as f:
            f.write(data)
        return dict(mediaType=media_type, **self._commit(tmp, digest, len(data)))

    def put_json(self, obj, media_type):
        return self.put_bytes(json.dumps(obj, separators=(",", ":")).encode(), media_type)

    def put_layer(self, key, payload_size):
        """One uncompressed tar with a single file of seeded random bytes."""
        rng = random.Random(key)  # str seeds are hashed (sha512): stable across runs
        info = tarfile.TarInfo("data/" + hashlib.sha256(key.encode()).hexdigest()[:16] + ".bin")
        info.size, info.mode, info.mtime = payload_size, 0o644, 0
        header = info.tobuf(format=tarfile.USTAR_FORMAT)
        h = hashlib.sha256()
        tmp = os.path.join(self.blob_dir, ".tmp-%d-layer" % os.getpid())
        with open(tmp, "wb", buffering=0) as f:
            def out(b):
                h.update(b)
                f.write(b)
            out(header)
            left = payload_size
            while left:
                chunk = rng.randbytes(min(CHUNK, left))
                out(chunk)
                left -= len(chunk)
            out(b"\0" * ((-payload_size) % 512 + 1024))
            size = f.tell()
        return dict(mediaType=MT_LAYER, **self._commit(tmp, h.hexdigest(), size))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--tag", required=True)
    p.add_argument("--platforms", default="linux/amd64,linux/arm64")
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--size", default="8M")
    p.add_argument("--shared-layers", type=int, default=1)
    p.add_argument("--seed", default="42")
    p.add_argument("--single", action="store_true")
    p.add_argument("--referrers", action="store_true")
    p.add_argument("--referrers-seed", help="seed of the artifacts' payloads (default: --seed)")
    a = p.parse_args()

    platforms = [parse_platform(s) for s in a.platforms.split(",") if s.strip()]
    keys = ["/".join(x.values()) for x in platforms]
    if not platforms or len(set(keys)) != len(keys):
        p.error("--platforms must list distinct platforms")
    if a.single and len(platforms) != 1:
        p.error("--single requires exactly one platform")
    if a.layers < 1 or not 0 <= a.shared_layers <= a.layers:
        p.error("need --layers >= 1 and 0 <= --shared-layers <= --layers")

    # distinct layers: the shared ones once, then each platform's own
    shared = a.shared_layers if len(platforms) > 1 else 0
    specs = [("shared", i) for i in range(shared)]
    specs += [(k, i) for k in keys for i in range(shared, a.layers)]
    total = parse_size(a.size)
    share, extra = divmod(total, len(specs))

    layout = Layout(a.out_dir)
    blobs = {}
    for n, spec in enumerate(specs):
        target = share + (extra if n == len(specs) - 1 else 0)
        key = "seed=%s;layer=%s:%d" % (a.seed, *spec)
        blobs[spec] = layout.put_layer(key, max(1, target - TAR_OVERHEAD))

    manifests = []
    for plat, k in zip(platforms, keys):
        layers = [blobs[("shared", i) if i < shared else (k, i)] for i in range(a.layers)]
        config = {
            "created": "1970-01-01T00:00:00Z",
            **plat,
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Labels": {"crossdock.rig.seed": str(a.seed)}},
            "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "rig/mkimage.py"}
                        for _ in layers],
        }
        manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                    "config": layout.put_json(config, MT_CONFIG), "layers": layers}
        manifests.append(dict(layout.put_json(manifest, MT_MANIFEST), platform=plat))

    if a.single:
        top = {k: v for k, v in manifests[0].items() if k != "platform"}
    else:
        top = layout.put_json({"schemaVersion": 2, "mediaType": MT_INDEX,
                               "manifests": manifests}, MT_INDEX)

    extra_entries, referrers = [], None
    if a.referrers:
        extra_entries, referrers = add_referrers(layout, top, manifests, a)

    # oci-layout + index.json (keep other tags' entries)
    with open(os.path.join(a.out_dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    index_path = os.path.join(a.out_dir, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except FileNotFoundError:
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": []}
    replaced = {a.tag} | {e.get("annotations", {}).get(REF_NAME) for e in extra_entries}
    index["manifests"] = [m for m in index.get("manifests", [])
                          if m.get("annotations", {}).get(REF_NAME) not in replaced]
    index["manifests"].append(dict(top, annotations={REF_NAME: a.tag}))
    index["manifests"].extend(e for e in extra_entries if e not in index["manifests"])
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=1)
    os.replace(index_path + ".tmp", index_path)

    out = {"digest": top["digest"], "media_type": top["mediaType"],
           "blobs": layout.count, "bytes": layout.bytes}
    if referrers is not None:
        out["referrers"] = referrers
    print(json.dumps(out), flush=True)


def add_referrers(layout, top, manifests, a):
    """Artifacts of the image (see --referrers); returns (index.json entries, summary)."""
    empty = layout.put_bytes(b"{}", MT_EMPTY)
    subject_of = lambda d: {k: d[k] for k in ("mediaType", "digest", "size")}  # noqa: E731

    def artifact(subject, artifact_type, payload_type, payload):
        blob = layout.put_bytes(json.dumps(payload, sort_keys=True).encode(), payload_type)
        man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "artifactType": artifact_type,
               "config": empty, "layers": [blob], "subject": subject_of(subject),
               "annotations": {"org.opencontainers.image.created": "1970-01-01T00:00:00Z"}}
        return dict(layout.put_json(man, MT_MANIFEST), artifactType=artifact_type,
                    annotations=man["annotations"])

    def fallback(subject_digest, entries):
        idx = layout.put_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}, MT_INDEX)
        return dict(idx, annotations={REF_NAME: "sha256-" + subject_digest.split(":", 1)[1]})

    seed = str(a.referrers_seed or a.seed)
    sbom = artifact(top, "application/spdx+json", "application/spdx+json",
                    {"spdxVersion": "SPDX-2.3", "name": "image", "seed": seed})
    att = artifact(top, "application/vnd.in-toto+json", "application/vnd.in-toto+json",
                   {"_type": "https://in-toto.io/Statement/v1", "seed": seed})
    sbom_sig = artifact(sbom, "application/vnd.cncf.notary.signature", "application/jose+json",
                        {"signature": "of the sbom", "seed": seed})
    entries = [sbom, att, sbom_sig]
    tagged = [fallback(top["digest"], [sbom, att]), fallback(sbom["digest"], [sbom_sig])]
    platform_sboms = {}
    if top["mediaType"] == MT_INDEX:
        for m in manifests:
            plat = "/".join(m["platform"].values())
            child = artifact(m, "application/spdx+json", "application/spdx+json",
                             {"spdxVersion": "SPDX-2.3", "name": plat, "seed": seed})
            platform_sboms["%s/%s" % (m["platform"]["os"], m["platform"]["architecture"])] = child["digest"]
            entries.append(child)
            tagged.append(fallback(m["digest"], [child]))
    # cosign: a plain image manifest under sha256-<hex>.sig, no subject
    sig_layer = layout.put_bytes(json.dumps({"critical": {"image": {"docker-manifest-digest": top["digest"]}},
                                             "seed": seed}).encode(),
                                 "application/vnd.dev.cosign.simplesigning.v1+json")
    sig_layer["annotations"] = {"dev.cosignproject.cosign/signature": "MEUCIQ" + seed}
    sig_config = layout.put_json({"architecture": "", "os": "", "config": {},
                                  "rootfs": {"type": "layers", "diff_ids": [sig_layer["digest"]]}}, MT_CONFIG)
    cosign_tag = "sha256-" + top["digest"].split(":", 1)[1] + ".sig"
    sig = layout.put_json({"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": sig_config,
                           "layers": [sig_layer]}, MT_MANIFEST)
    tagged.append(dict(sig, annotations={REF_NAME: cosign_tag}))
    summary = {"sbom": sbom["digest"], "attestation": att["digest"], "sbom_signature": sbom_sig["digest"],
               "cosign_sig": sig["digest"], "cosign_tag": cosign_tag, "platform_sboms": platform_sboms,
               "fallback_tags": [t["annotations"][REF_NAME] for t in tagged if t is not tagged[-1]]}
    untagged = [{k: e[k] for k in ("mediaType", "digest", "size", "artifactType")} for e in entries]
    return untagged + tagged, summary


if __name__ == "__main__":
    main()
