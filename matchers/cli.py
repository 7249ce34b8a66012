"""Subcommands of `likewatch` contributed by the `matchers` package.

Stable contract (tests outside the project use it):

- ``likewatch enroll --person ID [--client NAME] [--name "Display Name"] FILE...``: exit 0
  and one line per reference enrolled on stdout.
- ``likewatch scan [--json] FILE...``: per image or video file one JSON object per line,
  ``{"path": P, "matches": [{"person": ID, "signal": NAME, "distance": D,
  "threshold": T, "tier": "alert" | "review"}], "error": null}`` (per person and signal the
  best match: alert tier first, then the smallest distance; ``matchers/tiers.py``); an
  unreadable file gets ``"error": "<why>"`` and the scan goes on (exit 1 when any file failed). Output is
  always JSON lines; ``--json`` is accepted for clarity. Each object also has
  ``"provenance"``: the file's AI-content labels (``matchers.provenance``;
  ``{"ai_label": "1"|"2"|"3"|null, "producer", "c2pa", ...}``).

Exit status of ``scan`` (issue #18): 1 when any file could not be read (each still has its
line), else 0; a file that is no image and no video container is ``"not an image or
video"``.

Also ``likewatch match-pending`` (``matchers.pipeline.process_pending``) and
``likewatch eval`` (``matchers.eval``). All honour ``LIKEWATCH_HOME``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matchers.banks import BankSet
    from matchers.signals.base import Match


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    p = sub.add_parser("enroll", help="enrol reference photos of a protected person",
                       description="Enrol reference photos of a person: every signal is "
                       "computed and stored; each photo must show exactly one face "
                       "(or choose one with --face). Prints one line per reference.")
    p.add_argument("--person", default=None, help="the client's id for the person")
    p.add_argument("--client", default=None,
                   help="client (studio or agency) name; it must exist (`likewatch client "
                   "add`); with --csv, for rows without a client column")
    p.add_argument("--name", default="", help="display name of the person")
    p.add_argument("--alias", action="append", default=[], help="another name (repeatable)")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE",
                   help="bulk enrolment: a roster CSV (columns person, photo, name, aliases, "
                   "official, client; see matchers/enroll.py read_roster_csv)")
    p.add_argument("--folder", type=Path, default=None, metavar="DIR",
                   help="bulk enrolment: one sub-folder of photos per person, named by "
                   "the person's id")
    p.add_argument("--json", action="store_true",
                   help="with --csv/--folder: one JSON object per person")
    p.add_argument("--face", type=int, default=None, metavar="N",
                   help="in photos with several faces, use face N (0 = leftmost)")
    p.add_argument("--official", action="append", default=[], metavar="PLATFORM:UPLOADER",
                   help="an official account of the person (never alerts); repeatable; "
                   "'*:name' for any platform")
    p.add_argument("--no-backsearch", action="store_true",
                   help="do not search the new references back through stored candidates")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="reference photos of the person (with --person)")
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("scan", help="match image or video files against every enrolled person",
                       description="Match files against the reference banks; one JSON "
                       "object per file and line.")
    p.add_argument("--json", action="store_true", help="JSON lines (the only format)")
    p.add_argument("files", nargs="+", metavar="FILE", help="image or video files to match")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("set-threshold", help="a client's own threshold for one signal",
                       description="Override a signal's threshold for every person of a "
                       "client (e.g. a stricter face threshold for look-alike rosters).")
    p.add_argument("--client", required=True, help="the client whose threshold it is")
    p.add_argument("signal", help="signal name: pdq, phash, face, face_pdq")
    p.add_argument("threshold", type=float, nargs="?", default=None,
                   help="new threshold; omit to remove the override")
    p.set_defaults(func=_cmd_set_threshold)

    p = sub.add_parser("match-pending", help="hash and match pending candidates in the catalog")
    p.add_argument("--limit", type=int, default=None, help="at most N candidates")
    p.set_defaults(func=_cmd_match_pending)

    p = sub.add_parser("eval", help="evaluation of the matchers on held-out folds",
                       description="Transformed copies, second photos and face swaps of the "
                       "repository's people, and a background cohort of strangers: the face "
                       "thresholds are fitted on some folds of the cohort and recall and "
                       "false matches reported, per tier, on the others. Writes a markdown "
                       "table, JSON and one PNG chart per tier.")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default $LIKEWATCH_HOME/eval)")
    p.add_argument("--refs", type=Path, default=None,
                   help="folder of <id>_1.jpg / <id>_2.jpg photos (default sandbox/assets/faces)")
    p.add_argument("--cohort", type=Path, default=None,
                   help="folder of strangers' portraits (default ../shared/data/faces-cohort)")
    p.add_argument("--folds", type=int, default=5, help="folds of the cohort (default 5)")
    p.add_argument("--limit", type=int, default=None, help="use at most N paired persons")
    p.add_argument("--variants", type=int, default=None,
                   help="parameter variants per transform (default 4)")
    p.add_argument("--strangers", type=int, default=None,
                   help="at most N strangers per fold (default: the whole held-out part)")
    p.add_argument("--transforms", default=None,
                   help="comma-separated subset of transforms (default: all)")
    p.add_argument("--scenes", type=int, default=100, help="synthetic unrelated scenes")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed of the transforms and scenes (default 0)")
    p.set_defaults(func=_cmd_eval)


def _user_error(msg: str) -> Exception:
    from likewatch.cli import UserError

    return UserError(msg)


def _cmd_enroll(args: argparse.Namespace) -> int:
    from likewatch import progress
    from likewatch.catalog import Catalog
    from likewatch.official import parse_account_arg
    from matchers.enroll import EnrolError, enroll

    if args.csv or args.folder:
        return _cmd_enroll_batch(args)
    if not args.person or not args.client or not args.files:
        raise _user_error("enroll needs --client NAME --person ID FILE... "
                          "(or --csv FILE / --folder DIR)")
    accounts = []
    for item in args.official:
        try:
            account = parse_account_arg(item)  # the core's rule (likewatch/official.py)
        except ValueError as exc:
            raise _user_error(str(exc)) from None
        accounts.append((account.platform, account.uploader))
    with Catalog.open() as catalog, progress.bar(f"enrol {args.person}",
                                                 total=len(args.files)) as bar:
        try:
            results = enroll(catalog, args.person, [Path(f) for f in args.files],
                             client=args.client, display_name=args.name,
                             face_index=args.face, official_accounts=accounts,
                             aliases=args.alias, create_client=False,
                             progress=lambda done, total: bar.update(done, total))
        except EnrolError as e:
            raise _user_error(str(e)) from e
        for r in results:
            print(r.line(), flush=True)
        if not args.no_backsearch and any(not r.already for r in results):
            _backsearch(catalog, results[0].reference_id)
    return 0


def _backsearch(catalog: Any, reference_id: int) -> None:
    from likewatch.catalog.models import Reference
    from matchers.pipeline import backsearch

    with catalog.session() as s:
        ref = s.get(Reference, reference_id)
        person_id = ref.person_id if ref is not None else None
    if person_id is not None:
        found = backsearch(catalog, person_id)
        print(f"backsearch: {len(found)} new match(es) in stored candidates", file=sys.stderr)


def _cmd_enroll_batch(args: argparse.Namespace) -> int:
    """``enroll --csv FILE`` / ``--folder DIR``: progress on stderr, a line (or JSON
    object) per person on stdout; exit 1 if any person failed, after trying them all."""
    from likewatch import progress
    from likewatch.catalog import Catalog
    from matchers.enroll import (
        BatchItem,
        EnrolError,
        enroll_roster,
        read_roster_csv,
        read_roster_folder,
    )

    if args.files or args.person:
        raise _user_error("--csv/--folder take the persons from the file; give no "
                          "--person or FILE")
    try:
        if args.csv:
            entries = read_roster_csv(args.csv, args.client)
        else:
            if not args.client:
                raise _user_error("--folder needs --client NAME")
            entries = read_roster_folder(args.folder, args.client)
    except EnrolError as e:
        raise _user_error(str(e)) from e
    with Catalog.open() as catalog:
        from sqlalchemy import select

        from likewatch.catalog.models import Client

        with catalog.session() as s:
            known = set(s.scalars(select(Client.name)))
        unknown = sorted({e.client for e in entries} - known)
        if unknown:
            raise _user_error(f"no client named {unknown[0]!r} (add it first with "
                              "`likewatch client add`); nothing enrolled")

        def each(done: int, total: int, item: BatchItem) -> None:
            state = f"error: {item.error}" if item.error else f"{len(item.results)} photo(s)"
            bar.update(done, total, info=f"{item.client}/{item.person}")
            bar.note(f"[{done}/{total}] {item.client}/{item.person}: {state}")
            if args.json:
                print(json.dumps({"client": item.client, "person": item.person,
                                  "references": [r.reference_id for r in item.results],
                                  "error": item.error}, ensure_ascii=False), flush=True)
            else:
                for r in item.results:
                    print(r.line(), flush=True)

        with progress.bar("enrol roster", total=len(entries)) as bar:
            items = enroll_roster(catalog, entries, progress=each)
        if not args.no_backsearch:
            for item in items:
                if any(not r.already for r in item.results):
                    _backsearch(catalog, item.results[0].reference_id)
    failed = [i for i in items if i.error]
    print(f"enrolled {len(items) - len(failed)} of {len(items)} person(s)"
          + (f"; {len(failed)} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _match_json(m: Match) -> dict[str, Any]:
    d: float | int = int(m.distance) if float(m.distance).is_integer() else round(m.distance, 4)
    t: float | int = (int(m.threshold) if float(m.threshold).is_integer()
                      else round(m.threshold, 4))
    return {"person": m.person, "signal": m.signal, "distance": d, "threshold": t,
            "tier": m.tier}


def _looks_like_video(path: Path) -> bool:
    """Do the first bytes name a video container (MP4/MOV, Matroska/WebM, AVI, FLV, MPEG
    program or transport stream, Ogg)?"""
    with path.open("rb") as f:
        head = f.read(192)
    return (head[4:8] == b"ftyp" or head.startswith((b"\x1aE\xdf\xa3", b"FLV", b"OggS",
                                                     b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"))
            or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
            or (len(head) > 188 and head[0] == head[188] == 0x47))


def _name_non_media(path: Path, result: dict[str, Any]) -> None:
    """A file that neither decoder could open and that is no video container (a text file,
    a PDF...) is "not an image or video"; a damaged video keeps the demuxer's reason."""
    error = result.get("error") or ""
    if (error.startswith(("not a readable video", "no video stream")) and path.is_file()
            and not _looks_like_video(path)):
        result["error"] = "not an image or video"


def scan_file(banks: BankSet, path: Path) -> dict[str, Any]:
    """One ``likewatch scan`` result: an image, or a video through its keyframes."""
    from matchers.images import ImageError, ImageInput

    out: dict[str, Any] = {"path": str(path), "matches": [], "error": None}
    if not path.is_file():
        out["error"] = "no such file" if not path.exists() else "not a regular file"
        return out
    matches: list[Match] = []
    try:
        image = ImageInput.from_path(path)
        _ = image.size
    except ImageError as e:
        if "not an image" not in str(e):
            out["error"] = str(e)
            return out
        from matchers.video import hash_video

        video = hash_video(path, banks.types)
        if not video.images:
            out["error"] = "; ".join(video.errors) or "not an image or video"
            return out
        for label, values in video.images:
            matches.extend(banks.match_values(values, frame=label))
        if video.errors:
            out["error"] = "; ".join(video.errors)
    else:
        try:
            matches = banks.match_image(image)
        except ImageError as e:
            out["error"] = str(e)
            return out
    from matchers.match import TIER_RANK

    best: dict[tuple[str, str], Match] = {}
    for m in matches:
        k = (m.person, m.signal)
        if k not in best or (TIER_RANK[m.tier], m.distance) < (TIER_RANK[best[k].tier],
                                                                best[k].distance):
            best[k] = m
    out["matches"] = [_match_json(m) for _, m in sorted(best.items())]
    return out


def _cmd_scan(args: argparse.Namespace) -> int:
    """One JSON line per file; exit 1 when any file could not be scanned."""
    from likewatch import progress
    from likewatch.catalog import Catalog
    from matchers.banks import BankSet
    from matchers.provenance import scan_provenance

    with Catalog.open() as catalog:
        banks = BankSet.from_catalog(catalog)
    failed = 0
    with progress.bar("scan", total=len(args.files)) as bar:
        for f in args.files:
            try:
                result = scan_file(banks, Path(f))
            except Exception as e:  # noqa: BLE001 - the scan goes on after any one file
                result = {"path": f, "matches": [], "error": f"{type(e).__name__}: {e}"}
            _name_non_media(Path(f), result)
            result["provenance"] = scan_provenance(Path(f))  # AI-content labels, issue #19
            failed += result["error"] is not None
            print(json.dumps(result, ensure_ascii=False), flush=True)
            bar.advance()
    return 1 if failed else 0


def _cmd_set_threshold(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from likewatch.catalog import Catalog
    from likewatch.catalog.models import Client, ClientThreshold
    from matchers.signals import all_signal_types

    if args.signal not in all_signal_types():
        raise _user_error(f"unknown signal {args.signal!r}; known: "
                          + ", ".join(all_signal_types()))
    if args.threshold is not None and args.threshold < 0:
        raise _user_error("a threshold cannot be negative")
    with Catalog.open() as catalog, catalog.session() as s:
        client = s.scalars(select(Client).where(Client.name == args.client)).first()
        if client is None:
            raise _user_error(f"no client named {args.client!r}")
        row = s.scalars(select(ClientThreshold).where(ClientThreshold.client_id == client.id,
                                                      ClientThreshold.signal == args.signal)
                        ).first()
        if args.threshold is None:
            if row is not None:
                s.delete(row)
            print(f"client={args.client} signal={args.signal} threshold=default")
            return 0
        if row is None:
            s.add(ClientThreshold(client_id=client.id, signal=args.signal,
                                  threshold=args.threshold))
        else:
            row.threshold = args.threshold
    print(f"client={args.client} signal={args.signal} threshold={args.threshold}")
    return 0


def _cmd_match_pending(args: argparse.Namespace) -> int:
    from likewatch.catalog import Catalog
    from matchers.pipeline import process_pending

    with Catalog.open() as catalog:
        summary = process_pending(catalog, limit=args.limit)
    print(json.dumps(summary.to_dict()))
    return 0


def _eval_echo(bar: Any) -> Any:
    """The evaluation's ``echo``: its lines printed as before, each a step of the bar (the
    evaluation reports per person or fold, then its table)."""
    def echo(line: str) -> None:
        print(line, flush=True)
        bar.advance()
        bar.update(info=line.strip().splitlines()[0][:60] if line.strip() else "")
    return echo


def _cmd_eval(args: argparse.Namespace) -> int:
    from likewatch import progress, settings
    from matchers.eval import run_eval

    out = args.out or settings.home() / "eval"
    try:
        with progress.bar("eval") as bar:
            report = run_eval(out, refs=args.refs, cohort=args.cohort, folds=args.folds,
                              limit=args.limit, variants=args.variants,
                              strangers=args.strangers, scenes=args.scenes, seed=args.seed,
                              echo=_eval_echo(bar),
                              transforms=args.transforms.split(",") if args.transforms
                              else None)
    except (FileNotFoundError, ValueError) as e:
        raise _user_error(str(e)) from e
    print(f"wrote {report.markdown_path} and {', '.join(str(p) for p in report.charts)}")
    return 0 if report.passed else 1
