"""Adapter health: per platform, items parsed, mandatory fields missing, blocked or challenged
responses, and the parse rate; an adapter whose parse rate collapses is flagged broken.

Samples are rows of ``adapter_health_samples`` (likewatch/catalog/health.py), one per crawl:

- :func:`record_crawl` turns a crawl summary (``crawler.run.crawl``'s dict) into a sample;
- :func:`record_sample` records counts directly (e.g. from a spider's own page accounting);
- :func:`detect_challenge` tells a captcha / verify / block page from a real one, with the
  adapter's own ``CHALLENGE_MARKERS`` (each platform's verify pages differ);
- :func:`platform_health` computes the report ``likewatch status`` prints (the command
  is the scheduler's: it shows this beside the queues and watches).

Parse rate = items parsed per page the adapter got to parse (``pages`` of a crawl summary;
refused responses are counted apart as ``challenged``). Broken: the latest sample's parse
rate is below ``BROKEN_FRACTION`` (50 %) of the mean of the samples before it, once there
are ``MIN_SAMPLES`` of those (a layout change makes an adapter parse nothing while pages
still come back 200). Blocked: at least half of the latest crawl's responses were refused
(challenged ≥ pages parsed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from crawler.errors import LIMIT_KINDS
from likewatch.catalog import Catalog
from likewatch.catalog.crawl_limits import CrawlLimitBreach
from likewatch.catalog.health import AdapterHealthSample

CHALLENGE_MAX_BYTES = 60_000
BROKEN_FRACTION = 0.5
MIN_SAMPLES = 5
TRAILING = 20
# Error kinds of a crawl summary (crawler/errors.py) that mean "the site refused us".
CHALLENGE_KINDS = ("challenged", "captcha", "http_401", "http_403", "http_429", "http_451")
GENERIC_MARKERS = ("captcha", "are you a robot", "unusual traffic", "access denied",
                   "请输入验证码", "安全验证", "人机验证")


def detect_challenge(adapter: Any, status: int, body: str) -> str | None:
    """Why this response is a block or a challenge instead of content, or None.

    ``adapter``: the adapter class (its ``CHALLENGE_MARKERS`` are checked first) or None.
    Markers are looked for only in small pages: verify and captcha pages are a few kB, while
    real pages are large and may well mention "captcha" in their scripts.
    """
    if status in (401, 403, 429, 451):
        return f"http_{status}"
    if len(body) > CHALLENGE_MAX_BYTES:
        return None
    head = body.lower()
    for marker in tuple(getattr(adapter, "CHALLENGE_MARKERS", ())) + GENERIC_MARKERS:
        if marker.lower() in head:
            return f"challenge:{marker}"
    return None


def record_sample(cat: Catalog, platform: str, *, pages: int, items: int,
                  missing_fields: int = 0, parse_errors: int = 0, challenged: int = 0,
                  watch: str = "") -> None:
    with cat.session() as s:
        s.add(AdapterHealthSample(platform=platform, watch=watch, pages=pages, items=items,
                                  missing_fields=missing_fields, parse_errors=parse_errors,
                                  challenged=challenged))


def record_crawl(cat: Catalog, summary: dict[str, Any]) -> None:
    """Record one finished crawl from its summary dict (keys of ``crawler.run.crawl``)."""
    errors = summary.get("errors") or {}
    record_sample(
        cat, str(summary.get("platform", "")),
        pages=int(summary.get("pages", 0)),
        items=int(summary.get("items_new", 0)) + int(summary.get("items_seen", 0)),
        missing_fields=int(errors.get("missing_field", 0)),
        parse_errors=int(errors.get("parse_error", 0)),
        challenged=sum(int(errors.get(k, 0)) for k in CHALLENGE_KINDS),
        watch=str(summary.get("watch") or ""),
    )
    breaches = {k: int(errors[k]) for k in LIMIT_KINDS if int(errors.get(k, 0))}
    if breaches:  # crawl limits reached, by name (crawler/errors.py)
        with cat.session() as s:
            s.add_all(CrawlLimitBreach(platform=str(summary.get("platform", "")),
                                       watch=str(summary.get("watch") or ""), kind=kind,
                                       count=n) for kind, n in breaches.items())


@dataclass
class PlatformHealthReport:
    platform: str
    samples: int
    pages: int
    items: int
    missing_fields: int
    parse_errors: int
    challenged: int
    parse_rate: float | None  # latest sample's items per parsed page
    trailing_rate: float | None  # mean of the samples before it
    broken: bool
    blocked: bool
    limits: dict[str, int] = field(default_factory=dict)  # crawl limits reached, by kind

    @property
    def state(self) -> str:
        return "BROKEN" if self.broken else "BLOCKED" if self.blocked else "ok"


def _rate(s: AdapterHealthSample) -> float | None:
    # ``pages`` counts the responses the adapter parsed; refused ones are ``challenged``.
    return s.items / s.pages if s.pages > 0 else None


def platform_health(cat: Catalog, trailing: int = TRAILING,
                    min_samples: int = MIN_SAMPLES) -> list[PlatformHealthReport]:
    with cat.session() as s:
        rows = list(s.scalars(select(AdapterHealthSample).order_by(
            AdapterHealthSample.platform, AdapterHealthSample.id)))
        breaches = list(s.scalars(select(CrawlLimitBreach)))
    limits: dict[str, dict[str, int]] = {}
    for b in breaches:
        per = limits.setdefault(b.platform, {})
        per[b.kind] = per.get(b.kind, 0) + b.count
    by_platform: dict[str, list[AdapterHealthSample]] = {}
    for row in rows:
        by_platform.setdefault(row.platform, []).append(row)
    reports = []
    for platform, samples in sorted(by_platform.items()):
        latest = samples[-1]
        rate = _rate(latest)
        before = [r for r in (_rate(x) for x in samples[-trailing - 1:-1]) if r is not None]
        trailing_rate = sum(before) / len(before) if before else None
        broken = (rate is not None and trailing_rate is not None and len(before) >= min_samples
                  and trailing_rate > 0 and rate < BROKEN_FRACTION * trailing_rate)
        reports.append(PlatformHealthReport(
            platform=platform, samples=len(samples),
            pages=sum(x.pages for x in samples), items=sum(x.items for x in samples),
            missing_fields=sum(x.missing_fields for x in samples),
            parse_errors=sum(x.parse_errors for x in samples),
            challenged=sum(x.challenged for x in samples),
            parse_rate=rate, trailing_rate=trailing_rate, broken=broken,
            blocked=latest.challenged > 0 and latest.challenged >= latest.pages,
            limits=dict(sorted(limits.get(platform, {}).items()))))
    return reports


def format_health(reports: list[PlatformHealthReport]) -> list[str]:
    if not reports:
        return ["adapters: no crawl recorded yet"]
    lines = []
    for r in reports:
        rate = "n/a" if r.parse_rate is None else f"{r.parse_rate:.2f}"
        mean = "n/a" if r.trailing_rate is None else f"{r.trailing_rate:.2f}"
        lines.append(f"adapter {r.platform}: {r.state} — {r.items} items from {r.pages} pages "
                     f"in {r.samples} crawls; parse rate {rate}/page (trailing {mean}); "
                     f"missing fields {r.missing_fields}, parse errors {r.parse_errors}, "
                     f"blocked/challenged {r.challenged}"
                     + ("; limits reached: " + ", ".join(f"{k} {n}" for k, n in r.limits.items())
                        if r.limits else ""))
    return lines


def metric_samples(cat: Catalog) -> list[tuple[str, dict[str, str], float]]:
    """What adapter health adds to ``/metrics`` (entry-point group ``likewatch.metrics``):
    ``likewatch_adapter_up`` (0 when broken or blocked) and the latest parse rate."""
    out: list[tuple[str, dict[str, str], float]] = []
    for r in platform_health(cat):
        labels = {"platform": r.platform}
        out.append(("likewatch_adapter_up", labels, float(r.state == "ok")))
        if r.parse_rate is not None:
            out.append(("likewatch_adapter_parse_rate", labels, r.parse_rate))
    return out
