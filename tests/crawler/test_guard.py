"""The URL guard: likewatch.netguard directly, and as the crawler's downloader middleware."""

from __future__ import annotations

import ipaddress

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from crawler.errors import PREFIX
from crawler.middlewares import URLGuardMiddleware, playwright_abort_request, retry_after_seconds
from likewatch import netguard
from likewatch.netguard import AllowList, BlockedURL, check_url

NOBODY = AllowList([])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8700/media/thumb/v00001.jpg",
        "http://localhost:8700/x.jpg",  # a host name resolving to 127.0.0.1
        "http://[::1]:8700/x.mp4",
        "http://10.1.2.3/x.jpg",
        "http://192.168.0.10/x.jpg",
        "http://172.16.5.4/x.jpg",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://[fe80::1]/x",
        "http://0.0.0.0/x",
        "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped loopback
    ],
)
def test_private_and_loopback_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="allow_private_hosts"):
        check_url(url, NOBODY)


def test_localhost_really_resolves_to_loopback() -> None:
    addrs = netguard.resolve("localhost")
    assert addrs and all(a.is_loopback for a in addrs)


def test_public_addresses_pass() -> None:
    check_url("http://93.184.216.34/x.jpg", NOBODY)
    check_url("https://[2606:4700::1111]/x", NOBODY)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://93.184.216.34/x", "http:///x"])
def test_other_schemes_and_hostless_refused(url: str) -> None:
    with pytest.raises(BlockedURL):
        check_url(url, NOBODY)


def test_allow_list_by_address_name_and_cidr() -> None:
    check_url("http://127.0.0.1:1/", AllowList(["127.0.0.1"]))
    # its addresses are listed (Debian's /etc/hosts maps localhost to ::1 as well)
    check_url("http://localhost:1/", AllowList(["127.0.0.1", "::1"]))
    check_url("http://localhost:1/", AllowList(["localhost"]))  # or its name
    check_url("http://[::1]:1/", AllowList(["::1"]))
    cidr = AllowList(["10.0.0.0/8", "fd00::/8"])
    check_url("http://10.200.3.4/x", cidr)
    check_url("http://[fd12::5]/x", cidr)
    for url in ("http://169.254.169.254/", "http://127.0.0.1/",
                "http://192.168.1.1/"):
        with pytest.raises(BlockedURL):
            check_url(url, cidr)
    # one entry does not open its neighbours
    with pytest.raises(BlockedURL):
        check_url("http://127.0.0.2/", AllowList(["127.0.0.1"]))


def test_allow_list_from_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BlockedURL):
        check_url("http://127.0.0.5/")
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.0/8, 10.1.0.0/16")
    check_url("http://127.0.0.5/")
    check_url("http://10.1.9.9/")
    with pytest.raises(BlockedURL):
        check_url("http://10.2.0.1/")
    assert ipaddress.ip_address("10.1.9.9") in AllowList.from_settings().networks[1][0]


def test_middleware_refuses_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    crawler = get_crawler()
    crawler.stats.open_spider()
    mw = URLGuardMiddleware.from_crawler(crawler)
    assert mw.process_request(Request("http://127.0.0.1:8700/browse")) is None
    for url in ("http://10.0.0.7/media/thumb/x.jpg", "http://[::1]:8700/media/video/x.mp4",
                "http://127.0.0.2:8700/x"):
        with pytest.raises(IgnoreRequest, match="blocked"):
            mw.process_request(Request(url))
    assert crawler.stats.get_value(PREFIX + "blocked_url") == 3


def test_browser_requests_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crawler.middlewares._browser_allow", AllowList(["127.0.0.1"]))

    class FakeBrowserRequest:  # the two attributes playwright's Request has that we read
        def __init__(self, url: str, resource_type: str) -> None:
            self.url, self.resource_type = url, resource_type

    assert playwright_abort_request(FakeBrowserRequest("http://127.0.0.1:1/api/search", "fetch")) is False
    assert playwright_abort_request(FakeBrowserRequest("http://10.0.0.1/api", "fetch")) is True
    assert playwright_abort_request(FakeBrowserRequest("http://127.0.0.1:1/a.jpg", "image")) is True


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(b"1") == 1.0
    assert retry_after_seconds(b" 2.5 ") == 2.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
