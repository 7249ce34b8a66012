"""``likewatch evidence capture|export|verify|list|audit|key``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from likewatch.cli import DependencyError, UserError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``likewatch evidence ...`` to the parser."""
    ev = sub.add_parser("evidence", help="capture, export and verify sealed evidence")
    esub = ev.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)

    cap = esub.add_parser("capture", help="capture and seal a content page now")
    cap.add_argument("--url", help="the content page (default: the alert's URL)")
    cap.add_argument("--alert", required=True,
                     help="alert id or key; a free label when there is no such alert")
    cap.add_argument("--platform", default="", help="platform of the page (default: "
                     "recognised from the URL)")
    cap.add_argument("--person", default="", help="the protected person's name")
    cap.add_argument("--rights-holder", default="", help="default: --person")
    cap.add_argument("--title", default="", help="title of the content (default: read "
                     "from the page)")
    cap.add_argument("--uploader", default="", help="uploader's name (default: read from "
                     "the page)")
    cap.set_defaults(func=_cmd_capture)

    exp = esub.add_parser("export", help="write the evidence bundle (zip) of an alert")
    exp.add_argument("alert", metavar="ALERT", help="alert id (or capture id)")
    exp.add_argument("--out", type=Path, help="bundle path (default ./evidence-<capture>.zip)")
    exp.set_defaults(func=_cmd_export)

    ver = esub.add_parser("verify", help="check a bundle (zip, or the folder it was unpacked "
                                         "into) offline; names anything altered")
    ver.add_argument("bundle", metavar="BUNDLE", type=Path,
                     help="the bundle zip, or the folder it was unpacked into")
    ver.add_argument("--key", type=Path,
                     help="the deployment's published public key (PEM) to require")
    ver.add_argument("--tsa-ca", type=Path,
                     help="root certificates (PEM) trusted for the time-stamp authority: the "
                          "time stamp must chain to one of them")
    ver.set_defaults(func=_cmd_verify)

    lst = esub.add_parser("list", help="list sealed captures (newest first)")
    lst.add_argument("--alert", help="only this alert's captures")
    lst.add_argument("--limit", type=int, default=50, help="at most N captures (default 50)")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(func=_cmd_list)

    audit = esub.add_parser("audit", help="check the whole log and every capture on disk")
    audit.set_defaults(func=_cmd_audit)

    key = esub.add_parser("key", help="print the signing key id and public key to publish")
    key.set_defaults(func=_cmd_key)


def _cmd_capture(args: argparse.Namespace) -> int:
    from alerts.evidence import CaptureError, EvidenceSubject, capture_evidence
    from alerts.evidence.adapter import AlertNotFound, subject_for_alert
    from likewatch.catalog import Catalog
    from likewatch.netguard import BlockedURL

    with Catalog.open() as catalog:
        try:
            subject = subject_for_alert(catalog, args.alert)
            if args.url:
                subject.url = args.url
        except AlertNotFound:
            if not args.url:
                raise UserError(f"no alert {args.alert!r}; give --url to capture a page "
                                "under that label") from None
            subject = EvidenceSubject(
                alert_id=args.alert, url=args.url, platform=args.platform,
                person_label=args.person, rights_holder=args.rights_holder or args.person,
                title=args.title, uploader=args.uploader)
        try:
            result = capture_evidence(subject, catalog=catalog)
        except BlockedURL as exc:
            raise UserError(str(exc)) from None
        except CaptureError as exc:
            raise DependencyError(str(exc)) from None
    print(f"captured {result.capture_id}: {result.directory}")
    print(f"manifest sha256 {result.manifest_sha256}, log leaf {result.leaf_index}, "
          f"tree size {result.tree_head.tree_size}")
    for err in result.errors:
        print(f"  partial: {err}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from alerts.evidence.bundle import ExportError, export_bundle
    from likewatch.catalog import Catalog

    with Catalog.open() as catalog:
        try:
            path = export_bundle(catalog, args.alert, args.out)
        except ExportError as exc:
            raise UserError(str(exc)) from None
    print(path)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from alerts.evidence.verify import verify_bundle

    if not args.bundle.exists():
        raise UserError(f"no such bundle: {args.bundle}")
    trusted = None
    if args.key:
        if not args.key.is_file():
            raise UserError(f"no such key file: {args.key}")
        trusted = args.key.read_bytes()
    roots = None
    if args.tsa_ca:
        if not args.tsa_ca.is_file():
            raise UserError(f"no such certificate file: {args.tsa_ca}")
        roots = args.tsa_ca.read_bytes()
    report = verify_bundle(args.bundle, trusted, roots)
    for fact in report.facts:
        print(f"  {fact}")
    if report.ok:
        print(f"OK: {args.bundle} is intact: every file matches its manifest, the manifest is "
              "in the signed log, and the log was only ever appended to.")
        return 0
    print(f"FAILED: {args.bundle}: {len(report.problems)} problem(s):", file=sys.stderr)
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _cmd_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from likewatch.catalog import Catalog
    from likewatch.catalog.evidence import EvidenceCapture

    with Catalog.open() as catalog, catalog.session() as s:
        q = select(EvidenceCapture).order_by(EvidenceCapture.captured_at.desc()).limit(args.limit)
        if args.alert:
            q = q.where(EvidenceCapture.alert_id == args.alert)
        rows = s.scalars(q).all()
        for r in rows:
            if args.json:
                print(json.dumps({
                    "capture": r.capture_id, "alert": r.alert_id, "status": r.status,
                    "captured_at": f"{r.captured_at:%Y-%m-%dT%H:%M:%SZ}", "url": r.url,
                    "leaf_index": r.leaf_index, "manifest_sha256": r.manifest_sha256},
                    ensure_ascii=False))
                continue
            print(f"{r.captured_at:%Y-%m-%dT%H:%M:%SZ}  alert {r.alert_id}  {r.status:8}  "
                  f"leaf {r.leaf_index}  manifest {r.manifest_sha256[:16]}  {r.capture_id}  "
                  f"{r.url}")
        if not rows and not args.json:
            print("no captures")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from alerts.evidence.audit import audit_log
    from likewatch.catalog import Catalog

    with Catalog.open() as catalog:
        problems, facts = audit_log(catalog)
    for fact in facts:
        print(f"  {fact}")
    if not problems:
        print("OK: every tree head is signed and consistent, every capture matches the log.")
        return 0
    print(f"FAILED: {len(problems)} problem(s):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _cmd_key(args: argparse.Namespace) -> int:
    from alerts.evidence.keys import key_id, load_or_create_signing_key, public_pem
    from likewatch import settings

    key = load_or_create_signing_key(settings.home())
    print(f"key id {key_id(key.public_key())}")
    sys.stdout.write(public_pem(key.public_key()).decode("ascii"))
    return 0
