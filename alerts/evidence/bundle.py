"""Evidence bundles: one zip a lawyer can keep, send and verify offline.

Members, in this order (see ``bundle_readme.txt.j2`` for the plain-language version):
``README.txt``, ``manifest.json`` (the exact logged bytes), ``files/...``, ``proof.json``
(leaf index and hash, inclusion proof to ``tree_head.json``, the tree head signed at capture
and the consistency proof from it), ``tree_head.json`` (the latest signed tree head),
``public_key.pem``, optionally ``timestamp.tsr`` (RFC 3161 token over the capture tree
head), then ``SHA256SUMS`` (sha256 of every member above that the manifest does not cover)
and ``SHA256SUMS.sig`` (base64 Ed25519 signature of ``SHA256SUMS``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import or_, select

from alerts.evidence import merkle
from alerts.evidence.keys import TreeHead, canonical_json, key_id, public_pem
from alerts.evidence.log import TransparencyLog
from alerts.evidence.zipfmt import build
from likewatch import private
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture

PROOF_FORMAT = "likewatch-evidence-proof/1"
SUMS, SUMS_SIG = "SHA256SUMS", "SHA256SUMS.sig"


class ExportError(LookupError):
    """Nothing to export for that alert or capture id."""


def find_capture(catalog: Catalog, ref: str) -> EvidenceCapture:
    """The newest capture whose alert (number or ``lw_`` key) or capture id is ``ref``."""
    from alerts.refs import evidence_ref

    with catalog.session() as s:
        alert_ref = evidence_ref(s, ref)
        row = s.scalars(select(EvidenceCapture)
                        .where(or_(EvidenceCapture.alert_id == alert_ref,
                                   EvidenceCapture.capture_id == ref))
                        .order_by(EvidenceCapture.captured_at.desc(), EvidenceCapture.id.desc())
                        ).first()
    if row is None or row.leaf_index is None:
        raise ExportError(f"no sealed evidence for alert or capture {ref!r}")
    return row


def sums_text(members: list[tuple[str, bytes]]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                   for name, data in members).encode("utf-8")


def export_bundle(catalog: Catalog, ref: str, out: Path | None = None) -> Path:
    """Write the bundle for alert/capture ``ref``; returns its path."""
    cap = find_capture(catalog, ref)
    assert cap.leaf_index is not None
    directory = catalog.home / cap.dir
    manifest_bytes = (directory / "manifest.json").read_bytes()
    manifest: dict[str, Any] = json.loads(manifest_bytes)
    tlog = TransparencyLog(catalog)
    head = tlog.tree_head()
    capture_head = tlog.tree_head(cap.leaf_index + 1)
    hashes = tlog.leaf_hashes(head.tree_size)
    leaf = merkle.leaf_hash(manifest_bytes)
    if hashes[cap.leaf_index] != leaf:
        raise ExportError(f"capture {cap.capture_id}: manifest.json on disk no longer matches "
                          f"log leaf {cap.leaf_index}")
    proof = {
        "format": PROOF_FORMAT, "leaf_index": cap.leaf_index, "leaf_hash": leaf.hex(),
        "manifest_sha256": cap.manifest_sha256, "tree_size": head.tree_size,
        "inclusion_proof": [h.hex() for h in merkle.inclusion_proof(cap.leaf_index, hashes)],
        "capture_tree_head": capture_head.to_dict(),
        "consistency_proof": [h.hex() for h in
                              merkle.consistency_proof(capture_head.tree_size, hashes)],
    }
    token = tlog.timestamp_token(capture_head.tree_size)
    readme = _readme(manifest, cap, head, has_timestamp=token is not None)
    members: list[tuple[str, bytes]] = [("README.txt", readme), ("manifest.json", manifest_bytes)]
    for entry in manifest["files"]:
        members.append((entry["name"], (directory / entry["name"]).read_bytes()))
    public = tlog.key.public_key()
    extra = [("proof.json", canonical_json(proof)),
             ("tree_head.json", canonical_json(head.to_dict())),
             ("public_key.pem", public_pem(public))]
    if token is not None:
        extra.append(("timestamp.tsr", base64.b64decode(token)))
    members += extra
    sums = sums_text([("README.txt", readme), ("manifest.json", manifest_bytes), *extra])
    members.append((SUMS, sums))
    members.append((SUMS_SIG, base64.b64encode(tlog.key.sign(sums)) + b"\n"))
    now = dt.datetime.now(dt.UTC)
    data = build(members, (now.year, now.month, now.day, now.hour, now.minute, now.second))
    out = out or Path.cwd() / f"evidence-{cap.capture_id}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    private.write_private(tmp, data)  # it shows the person's face: 0600, share it knowingly
    tmp.replace(out)
    assert key_id(public) == head.key_id
    return out


def _readme(manifest: dict[str, Any], cap: EvidenceCapture, head: TreeHead,
            has_timestamp: bool) -> bytes:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent),
                             autoescape=False, keep_trailing_newline=True,  # noqa: S701 - plain text
                             undefined=jinja2.ChainableUndefined)
    text = env.get_template("bundle_readme.txt.j2").render(
        alert=manifest["alert"], captured_at=manifest["captured_at"],
        crawler=manifest.get("crawler", {}), manifest_sha256=cap.manifest_sha256,
        leaf_index=cap.leaf_index, tree_head=head, has_timestamp=has_timestamp)
    return text.encode("utf-8")
