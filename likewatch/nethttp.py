"""HTTP(S) with the standard library, through the address guard at connection time.

    from likewatch import nethttp
    with nethttp.urlopen(url, data=body, method="POST", timeout=10,
                         follow_redirects=False) as resp:
        body = nethttp.read_limited(resp, 65536)

Every connection (the first one and each redirect's) is made by
:func:`likewatch.netguard.connect`: the host is resolved once, every address checked, and
the socket connected to a checked address; HTTPS verifies the certificate of the host
name as usual (the name, not the address, is sent in SNI). The opener has no proxy, FTP or
file handler, so neither the environment's ``http_proxy`` nor a ``file:`` redirect can
route around the guard.

``follow_redirects=False`` (webhooks, chat apps, the TSA): a 3xx answer raises
:class:`RedirectRefused`. With ``follow_redirects=True`` (media, pages) at most
``max_redirects`` hops are followed, each to an http(s) URL whose connection is checked
again.
"""

from __future__ import annotations

import functools
import http.client
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from likewatch import netguard

MAX_REDIRECTS = 10


class RedirectRefused(urllib.error.HTTPError):
    """A 3xx answer where redirects are not followed (``location`` says where it pointed)."""

    def __init__(self, url: str, code: int, msg: str, hdrs: Any, fp: Any) -> None:
        if fp is not None:
            fp.close()  # nothing of a refused redirect is read
        super().__init__(url, code, msg, hdrs, None)
        self.location = str(hdrs.get("Location") or "") if hdrs is not None else ""


class TooManyRedirects(urllib.error.HTTPError):
    """More redirect hops than allowed (a loop, or a chain too long)."""


class TooLarge(ValueError):
    """A body longer than the caller's limit."""


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, allow: netguard.AllowList | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(netguard.connect, allow=allow)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, allow: netguard.AllowList | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(netguard.connect, allow=allow)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow: netguard.AllowList | None) -> None:
        super().__init__()
        self.allow = allow

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_GuardedHTTPConnection, allow=self.allow), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow: netguard.AllowList | None, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.allow = allow

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_GuardedHTTPSConnection, allow=self.allow), req,
                            context=self._context)  # type: ignore[attr-defined]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        raise RedirectRefused(req.full_url, code, f"{msg} (redirect to {newurl} not followed)",
                              headers, fp)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow: netguard.AllowList | None, max_redirects: int) -> None:
        super().__init__()
        self.allow = allow
        self.limit = min(max_redirects, MAX_REDIRECTS)  # urllib's own cap is 10

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        netguard.url_host_port(newurl)  # http(s) only; the connection itself is checked
        return super().redirect_request(req, fp, code, msg, headers, newurl)

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        visited = getattr(req, "redirect_dict", {})
        if sum(visited.values()) >= self.limit:
            raise TooManyRedirects(req.full_url, code, f"more than {self.limit} redirects",
                                   headers, fp)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def build_opener(*, follow_redirects: bool, allow: netguard.AllowList | None = None,
                 max_redirects: int = MAX_REDIRECTS,
                 context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """An opener whose every connection passes the guard (``allow``: default the setting)."""
    opener = urllib.request.OpenerDirector()
    redirects: urllib.request.BaseHandler = (
        _CheckedRedirects(allow, max_redirects) if follow_redirects else _NoRedirects())
    for handler in (_HTTPHandler(allow), _HTTPSHandler(allow, context or ssl.create_default_context()),
                    urllib.request.HTTPDefaultErrorHandler(), redirects,
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def urlopen(url: str, *, data: bytes | None = None, method: str | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 30.0,
            follow_redirects: bool = False, allow: netguard.AllowList | None = None,
            max_redirects: int = MAX_REDIRECTS) -> http.client.HTTPResponse:
    """Open ``url`` through the guard. Raises BlockedURL (refused), RedirectRefused,
    urllib.error.HTTPError (4xx/5xx) or URLError/OSError (network)."""
    netguard.url_host_port(url)
    # the scheme is checked just above and every connection by the guarded handlers
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
    opener = build_opener(follow_redirects=follow_redirects, allow=allow,
                          max_redirects=max_redirects)
    resp: http.client.HTTPResponse = opener.open(req, timeout=timeout)
    return resp


def read_limited(resp: Any, max_bytes: int) -> bytes:
    """The body, refusing more than ``max_bytes`` (a larger Content-Length fails at once)."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"{declared} bytes declared, limit {max_bytes}")
    data: bytes = resp.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"more than {max_bytes} bytes, limit {max_bytes}")
    return data
