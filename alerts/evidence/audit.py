"""Audit the whole evidence log of a deployment (``likewatch evidence audit``).

Checks that every signed tree head is validly signed by the deployment key and has the
root of the leaves stored at its size, that each head is consistent with the next (the
log was only appended to), and that every capture on disk still matches: its manifest's
leaf hash is the logged leaf and each file matches the manifest. Problems are named as
``<what>: <what is wrong>``, like bundle verification.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from alerts.evidence import merkle
from alerts.evidence.log import TransparencyLog
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture, EvidenceTreeHead


def audit_log(catalog: Catalog) -> tuple[list[str], list[str]]:
    """(problems, facts) for the log and captures of ``catalog``."""
    problems: list[str] = []
    tlog = TransparencyLog(catalog)
    public = tlog.key.public_key()
    size = tlog.size()
    leaves = tlog.leaf_hashes(size) if size else []
    with catalog.session() as s:
        sizes = list(s.scalars(select(EvidenceTreeHead.tree_size)
                               .order_by(EvidenceTreeHead.tree_size)))
        captures = list(s.scalars(select(EvidenceCapture).order_by(EvidenceCapture.id)))
    previous = None
    for tree_size in sizes:
        head = tlog.tree_head(tree_size)
        name = f"tree head {tree_size}"
        if not head.verify(public):
            problems.append(f"{name}: signature does not verify with the deployment key")
        if tree_size > size:
            problems.append(f"{name}: the log has only {size} leaves")
            continue
        root = merkle.root(leaves[:tree_size])
        if root.hex() != head.root_hash:
            problems.append(f"{name}: signed root {head.root_hash} but the stored leaves give "
                            f"{root.hex()}: leaves were changed")
        if previous is not None:
            proof = merkle.consistency_proof(previous.tree_size, leaves[:tree_size])
            if not merkle.verify_consistency(previous.tree_size, tree_size, proof,
                                             bytes.fromhex(previous.root_hash),
                                             bytes.fromhex(head.root_hash)):
                problems.append(f"{name}: not consistent with tree head {previous.tree_size}")
        previous = head
    for cap in captures:
        directory = catalog.home / cap.dir
        try:
            manifest_bytes = (directory / "manifest.json").read_bytes()
        except OSError as exc:
            problems.append(f"{cap.dir}/manifest.json: unreadable ({exc})")
            continue
        if cap.leaf_index is None or cap.leaf_index >= size:
            problems.append(f"capture {cap.capture_id}: not in the log")
            continue
        if merkle.leaf_hash(manifest_bytes) != leaves[cap.leaf_index]:
            problems.append(f"{cap.dir}/manifest.json: does not match log leaf "
                            f"{cap.leaf_index}: the manifest was changed")
            continue
        for entry in json.loads(manifest_bytes)["files"]:
            path = directory / entry["name"]
            try:
                actual = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                problems.append(f"{cap.dir}/{entry['name']}: missing")
                continue
            if actual != entry["sha256"]:
                problems.append(f"{cap.dir}/{entry['name']}: sha256 expected {entry['sha256']}, "
                                f"actual {actual}")
    facts = [f"{size} log entries, {len(sizes)} signed tree heads, {len(captures)} captures",
             f"key id {tlog.key_id}"]
    return problems, facts
