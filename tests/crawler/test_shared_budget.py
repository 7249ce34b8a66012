"""One host's politeness budget held by two crawler processes together.

Two crawls (two ``python -m crawler.run`` processes, as two crawler roles run them) of one
sandbox at once. The sandbox allows ``RATE`` requests per second (a token bucket: faster
clients get 429s) and answers one request with ``429, Retry-After: PAUSE``; it records when
every request arrived. With the budget in the catalog the two processes together keep
the rate (each alone would send as fast as its two connections allow: AutoThrottle is
off here), and neither sends anything while the host asked for a pause.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox.limits import Throttle
from sandbox.server import SandboxServer

RATE = 4.0  # requests per second, both processes together
PAUSE = 4.0  # the Retry-After of the ordered 429
WINDOW = 2.0


def _crawl_both(base: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    from crawler.run import crawl

    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("LIKEWATCH_CRAWL_RATE_PER_HOST", str(RATE))
    monkeypatch.setenv("LIKEWATCH_MEDIA_ENABLED", "false")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(crawl, f"{base}/browse?page={page}", max_pages=1, timeout=300,
                            extra_settings={"AUTOTHROTTLE_ENABLED": False})
                for page in (1, 2)]
        return [r.result() for r in runs]


@pytest.mark.slow
def test_two_crawler_processes_keep_one_rate_and_one_pause(
        sandbox_factory: Callable[..., SandboxServer], likewatch_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = sandbox_factory()
    server.throttle = Throttle(rate=RATE, burst=3, retry_after=1.0, ordered={20: PAUSE})
    summaries = _crawl_both(server.base_url, monkeypatch)
    assert [s["items_new"] for s in summaries] == [24, 24]  # both listing pages, all items

    arrivals = server.throttle.arrivals()
    times = [a.at for a in arrivals]
    assert len(arrivals) >= 50  # two robots.txt, two listing pages, 48 detail pages
    refused = [a for a in arrivals if a.reason == "rate"]
    assert refused == [], f"the sandbox's rate limit refused {len(refused)} requests"
    # At most RATE a second: in any window, the turns booked in it plus those a busy
    # machine delayed into it (half a second's worth).
    busiest = max(sum(1 for t in times if s <= t < s + WINDOW) for s in times)
    assert busiest <= RATE * (WINDOW + 0.5) + 1, busiest
    span = times[-1] - times[0]
    assert span >= (len(times) - 1) / RATE + PAUSE - 1.5, span

    ordered = next(a for a in arrivals if a.reason == "ordered")
    # Within a second of the 429 the requests already on their way (each process's
    # connections, turns taken before it); then nothing until the pause is over.
    during = [a for a in arrivals if ordered.at + 1.0 < a.at < ordered.at + PAUSE - 0.1]
    assert during == [], (ordered, during)
    assert any(a.at >= ordered.at + PAUSE - 0.1 for a in arrivals)
    assert sum(s.get("host_paused", 0) for s in summaries) == 1
