"""Offline verification of an evidence bundle, naming exactly what is wrong.

Checks, each reported as "<member>: <what is wrong>":

1. the zip is readable and every member's CRC holds (a damaged member is named);
2. every file listed in ``manifest.json`` is there with the same sha256 and size, and no
   unlisted file was slipped into ``files/``;
3. ``SHA256SUMS`` is signed by the bundle's key and matches README, manifest, proof, tree
   heads, key and timestamp token;
4. the manifest's RFC 6962 leaf hash is the logged one and its inclusion proof leads to
   the root of ``tree_head.json``, whose Ed25519 signature is valid;
5. the tree head signed at capture is valid and consistent with the later one;
6. the optional RFC 3161 token stamps the capture tree head;
7. the container itself is byte-for-byte the canonical zip of its members;
8. optionally, the signing key is the one the caller trusts (``--key``).

Before any of that, the zip is read as hostile input (:mod:`alerts.evidence.bundle_read`):
a name that occurs twice, a member over its size or compression-ratio limit, too many
members are each named as a problem; members are hashed in pieces, so verification takes
bounded memory whatever the bundle holds.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.evidence import merkle, zipfmt
from alerts.evidence.bundle import PROOF_FORMAT, SUMS, SUMS_SIG
from alerts.evidence.bundle_read import (
    READ_ERRORS,
    Member,
    check_directory,
    duplicates,
    limit_problem,
    order_problem,
    read_folder,
    read_zip_member,
    zip_member_chunks,
)
from alerts.evidence.capture import MANIFEST_FORMAT
from alerts.evidence.keys import TreeHead, canonical_json, key_id, load_public_pem

FIXED = ["README.txt", "manifest.json", "proof.json", "tree_head.json", "public_key.pem",
         SUMS, SUMS_SIG]


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, member: str, what: str) -> None:
        self.problems.append(f"{member}: {what}")


def _hex_list(value: Any) -> list[bytes]:
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) == 64 and
                                              v == v.lower() for v in value):
        raise ValueError("not a list of lowercase hex SHA-256 values")
    return [bytes.fromhex(v) for v in value]


Members = dict[str, Member]


def _data(members: Members, name: str) -> bytes | None:
    m = members.get(name)
    return m.data if m is not None else None


def verify_bundle(path: Path, trusted_key_pem: bytes | None = None,
                  tsa_roots_pem: bytes | None = None) -> VerifyReport:
    """Verify a bundle zip, or the folder it was unpacked into (then without check 7).
    With ``tsa_roots_pem``, a time stamp must also chain to one of those roots."""
    report = VerifyReport()
    if path.is_dir():
        return _verify_folder(path, trusted_key_pem, report, tsa_roots_pem)
    try:
        why = check_directory(path)
        if why is not None:
            report.bad(path.name, why)
            return report
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.bad(path.name, f"not a readable zip file ({exc})")
        return report
    with zf:
        for name, n in sorted(duplicates(infos).items()):
            report.bad(name, f"appears {n} times in the zip: a second member under the same "
                             "name (a viewer opens one copy, a checker may read the other)")
        members: Members = {}
        readable = True
        for info in infos:
            why = limit_problem(info.filename, info.file_size, info.compress_size)
            if why is not None:
                report.bad(info.filename, why)
                members.setdefault(info.filename, Member(info.file_size))
                readable = False
                continue
            try:
                member = read_zip_member(zf, info)
            except READ_ERRORS as exc:
                report.bad(info.filename, f"damaged inside the zip ({exc})")
                members.setdefault(info.filename, Member(info.file_size))
                readable = False
                continue
            members.setdefault(info.filename, member)  # a duplicate is already a problem
        _verify_members(members, trusted_key_pem, report, tsa_roots_pem)
        why = order_problem([i.filename for i in infos], _data(members, "manifest.json"))
        if why is not None:
            report.bad("zip container", why)
        if readable:
            _guarded("zip container", report, _check_container, path, zf, infos, report)
    return report


def _verify_folder(folder: Path, trusted_key_pem: bytes | None, report: VerifyReport,
                   tsa_roots_pem: bytes | None) -> VerifyReport:
    members, refused = read_folder(folder)
    for name, why in refused:
        report.bad(name, why)
    return _verify_members(members, trusted_key_pem, report, tsa_roots_pem)


def _verify_members(members: Members, trusted_key_pem: bytes | None,
                    report: VerifyReport | None = None,
                    tsa_roots_pem: bytes | None = None) -> VerifyReport:
    report = report if report is not None else VerifyReport()
    for name in FIXED:
        if name not in members and not any(p.startswith(name + ":") for p in report.problems):
            report.bad(name, "missing from the bundle")

    manifest_bytes = _data(members, "manifest.json")
    manifest = _check_manifest(manifest_bytes, members, report)
    public = _check_key(members, trusted_key_pem, report)
    if public is not None and not _key_matches_bundle(public, members):
        report.bad("public_key.pem", f"key id {key_id(public)} is neither the one named in "
                                     "tree_head.json nor the file listed in SHA256SUMS: the key "
                                     "was changed")
        public = None
    _guarded("SHA256SUMS", report, _check_sums, members, public, manifest, report)
    _guarded("proof.json", report, _check_log, members, manifest_bytes, public, report)
    _guarded("timestamp.tsr", report, _check_tsa_chain, members, tsa_roots_pem, report)
    return report


def _guarded(member: str, report: VerifyReport, check: Any, *args: Any) -> None:
    # A member altered into something unexpected (a string where a number belongs, say)
    # must yield a named problem, never a crash of the verifier.
    try:
        check(*args)
    except Exception as exc:  # noqa: BLE001 - reported as a problem of that member
        report.bad(member, f"could not be checked ({type(exc).__name__}: {exc})")


def _check_manifest(data: bytes | None, members: Members, report: VerifyReport
                    ) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        manifest: dict[str, Any] = json.loads(data)
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is {manifest.get('format')!r}, expected {MANIFEST_FORMAT}")
        listed = {entry["name"]: entry for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        report.bad("manifest.json", f"unreadable ({exc})")
        return None
    for name, entry in sorted(listed.items()):
        if name not in members:
            if not any(p.startswith(name + ":") for p in report.problems):
                report.bad(name, "listed in manifest.json but missing from the bundle")
            continue
        actual = members[name].sha256
        if actual is None:
            continue  # refused or damaged: already named
        if actual != entry.get("sha256"):
            report.bad(name, f"sha256 expected {entry.get('sha256')} (manifest.json), "
                             f"actual {actual}: the file was changed")
        elif members[name].size != entry.get("size"):
            report.bad(name, f"size expected {entry.get('size')}, actual {members[name].size}")
    for name in sorted(members):
        if name.startswith("files/") and name not in listed:
            report.bad(name, "not listed in manifest.json (added after the capture)")
    report.facts.append(f"manifest.json lists {len(listed)} captured files, captured at "
                        f"{manifest.get('captured_at')} from {manifest.get('alert', {}).get('url')}")
    return manifest


def _check_key(members: Members, trusted: bytes | None, report: VerifyReport) -> Any:
    pem = _data(members, "public_key.pem")
    if pem is None:
        return None
    try:
        public = load_public_pem(pem)
    except ValueError as exc:
        report.bad("public_key.pem", f"not an Ed25519 public key ({exc})")
        return None
    report.facts.append(f"signing key id {key_id(public)}")
    if trusted is not None:
        try:
            trusted_id = key_id(load_public_pem(trusted))
        except ValueError as exc:
            report.bad("--key", f"not an Ed25519 public key ({exc})")
            return public
        if trusted_id != key_id(public):
            report.bad("public_key.pem", f"key id {key_id(public)} is not the trusted key "
                                         f"{trusted_id}")
    return public


def _key_matches_bundle(public: Any, members: Members) -> bool:
    """The bundle's key is the signed tree head's, or the one SHA256SUMS lists."""
    try:
        if json.loads(_data(members, "tree_head.json") or b"").get("key_id") == key_id(public):
            return True
    except (KeyError, ValueError, AttributeError):
        pass
    pem_sha = hashlib.sha256(_data(members, "public_key.pem") or b"").hexdigest()
    sums = _data(members, SUMS) or b""
    return f"{pem_sha}  public_key.pem" in sums.decode("utf-8", "replace")


def _check_sums(members: Members, public: Any, manifest: dict[str, Any] | None,
                report: VerifyReport) -> None:
    sums, sig_text = _data(members, SUMS), _data(members, SUMS_SIG)
    if sums is None or sig_text is None or public is None:
        return
    listed: dict[str, str] = {}
    for line in sums.decode("utf-8", "replace").removesuffix("\n").split("\n"):
        digest, _, name = line.partition("  ")
        listed[name] = digest
    mismatched = {name for name, digest in listed.items()
                  if name in members and members[name].sha256 not in (None, digest)}
    canonical = "".join(f"{d}  {n}\n" for n, d in listed.items()).encode("utf-8") == sums
    consistent = canonical and not mismatched and all(name in members for name in listed)
    try:
        signature = base64.b64decode(sig_text.removesuffix(b"\n"), validate=True)
        if base64.b64encode(signature) + b"\n" != sig_text or len(signature) != 64:
            raise ValueError("not one base64 Ed25519 signature line")
    except ValueError as exc:
        report.bad(SUMS_SIG, f"damaged ({exc})")
        signature = None
    if signature is not None:
        try:
            public.verify(signature, sums)
        except Exception:  # noqa: BLE001 - InvalidSignature: either file may be the changed one
            if consistent:
                report.bad(SUMS_SIG, f"the signature over {SUMS} does not verify; {SUMS} still "
                                     "matches the files, so the signature was changed")
            else:
                report.bad(SUMS, f"changed: it no longer matches its signature in {SUMS_SIG}")
                return  # its lines cannot be trusted to blame other files
    for name, digest in listed.items():
        if name not in members:
            if not any(p.startswith(name + ":") for p in report.problems):
                report.bad(name, f"listed in {SUMS} but missing from the bundle")
        elif name in mismatched:
            report.bad(name, f"sha256 expected {digest} ({SUMS}), actual "
                             f"{members[name].sha256}: the file was changed")
    covered = set(listed) | {SUMS, SUMS_SIG}
    if manifest is not None:
        covered |= {entry.get("name") for entry in manifest.get("files", [])}
    for name in sorted(set(members) - covered):
        if not name.startswith("files/"):
            report.bad(name, f"not covered by {SUMS} (added to the bundle)")


def _check_log(members: Members, manifest_bytes: bytes | None, public: Any,
               report: VerifyReport) -> None:
    try:
        proof = json.loads(_data(members, "proof.json") or b"")
        if proof.get("format") != PROOF_FORMAT:
            raise ValueError(f"format is {proof.get('format')!r}")
        index, size = proof["leaf_index"], proof["tree_size"]
        if not all(type(v) is int and v >= 0 for v in (index, size)):
            raise ValueError("leaf_index and tree_size must be non-negative integers")
        inclusion = _hex_list(proof["inclusion_proof"])
        consistency = _hex_list(proof["consistency_proof"])
        capture_head = TreeHead.from_dict(proof["capture_tree_head"])
        logged_leaf = bytes.fromhex(proof["leaf_hash"])
    except (KeyError, ValueError, TypeError) as exc:
        if _data(members, "proof.json") is not None:
            report.bad("proof.json", f"unreadable ({exc})")
        return
    try:
        head = TreeHead.from_dict(json.loads(_data(members, "tree_head.json") or b""))
    except (KeyError, ValueError, TypeError) as exc:
        if _data(members, "tree_head.json") is not None:
            report.bad("tree_head.json", f"unreadable ({exc})")
        return
    if manifest_bytes is not None:
        leaf = merkle.leaf_hash(manifest_bytes)
        if leaf != logged_leaf:
            report.bad("manifest.json", f"its log leaf hash is {leaf.hex()}, the logged leaf is "
                                        f"{logged_leaf.hex()}: the manifest was changed")
    if size != head.tree_size:
        report.bad("proof.json", f"tree size {size} differs from tree_head.json's "
                                 f"{head.tree_size}")
    elif not merkle.verify_inclusion(logged_leaf, index, size, inclusion,
                                     bytes.fromhex(head.root_hash)):
        report.bad("proof.json", f"inclusion proof of leaf {index} does not lead to the root "
                                 f"{head.root_hash} of tree_head.json")
    if public is not None:
        if not head.verify(public):
            report.bad("tree_head.json", "signature does not verify with public_key.pem")
        if not capture_head.verify(public):
            report.bad("proof.json", "the capture tree head's signature does not verify")
    if not merkle.verify_consistency(capture_head.tree_size, head.tree_size, consistency,
                                     bytes.fromhex(capture_head.root_hash),
                                     bytes.fromhex(head.root_hash)):
        report.bad("proof.json", f"consistency proof from tree size {capture_head.tree_size} "
                                 f"to {head.tree_size} fails: the log was rewritten")
    if not index < capture_head.tree_size:
        report.bad("proof.json", f"leaf {index} is not within the capture tree head")
    for name, blob in (("proof.json", canonical_json(proof)),
                       ("tree_head.json", canonical_json(head.to_dict()))):
        if _data(members, name) != blob:
            report.bad(name, "not in canonical form (edited by hand)")
    _check_timestamp(members, capture_head, report)
    report.facts.append(f"leaf {index} in a log of {head.tree_size} entries, tree head signed "
                        f"{head.timestamp}; capture tree head of size {capture_head.tree_size} "
                        f"signed {capture_head.timestamp}")


def _check_timestamp(members: Members, capture_head: TreeHead,
                     report: VerifyReport) -> None:
    token = _data(members, "timestamp.tsr")
    if token is None:
        return
    from alerts.evidence import tsa

    try:
        info = tsa.parse_token(token)
    except tsa.TimestampError as exc:
        report.bad("timestamp.tsr", f"not a valid RFC 3161 token ({exc})")
        return
    if info.message_imprint != hashlib.sha256(capture_head.signing_input()).digest():
        report.bad("timestamp.tsr", "stamps something other than the capture tree head")
    elif not info.signature_valid:
        report.bad("timestamp.tsr", "the time-stamp authority's signature does not verify")
    else:
        report.facts.append(f"RFC 3161 time stamp {info.gen_time} by {info.tsa_name}")


def _check_tsa_chain(members: Members, roots_pem: bytes | None,
                     report: VerifyReport) -> None:
    token = _data(members, "timestamp.tsr")
    if token is None:
        return
    if roots_pem is None:
        report.facts.append("the time-stamp authority's certificate chain was not checked "
                            "(give its root certificates with --tsa-ca)")
        return
    from alerts.evidence import tsa

    try:
        root = tsa.check_chain(token, roots_pem)
    except tsa.TimestampError as exc:
        report.bad("timestamp.tsr", str(exc))
        return
    report.facts.append(f"the time-stamp authority's certificate chains to {root}")


def _check_container(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo],
                     report: VerifyReport) -> None:
    """Rebuild the canonical zip from the members, piece by piece, and compare it with the
    file as it is, piece by piece (no member is ever held whole)."""
    if not infos:
        return
    entries = [zipfmt.Entry(i.filename, i.file_size, i.CRC,
                            functools.partial(zip_member_chunks, zf, i)) for i in infos]
    with path.open("rb") as fh:
        offset = zipfmt.first_difference_stream(fh, zipfmt.iter_build(entries,
                                                                       infos[0].date_time))
    if offset is None:
        return
    last = infos[-1]
    cd_start = last.header_offset + 30 + len(last.filename.encode("utf-8")) + last.compress_size
    where = "zip central directory"
    if offset < cd_start:
        where = max((i for i in infos if i.header_offset <= offset),
                    key=lambda i: i.header_offset, default=infos[0]).filename
    report.bad(where, f"the zip container differs from the bundle as exported, at byte {offset}: "
                      "it was altered after export (if it was only re-packed by another zip "
                      "tool and nothing else is reported, the contents themselves are intact)")
