"""Property-based (Hypothesis): the address guard judges every IPv6 form of an IPv4 address
as that IPv4 address, and reads any allow-list entry or URL without an unexpected error."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from likewatch.netguard import AllowList, BlockedURL, check_url, embedded_ipv4, is_public
from likewatch.settings import SettingsError

v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
FORMS = [
    lambda a: ipaddress.IPv6Address(0xFFFF << 32 | int(a)),  # ::ffff:a.b.c.d
    lambda a: ipaddress.IPv6Address(int(a)) if int(a) > 1 else None,  # ::a.b.c.d
    lambda a: ipaddress.IPv6Address(0xFFFF << 48 | int(a)),  # ::ffff:0:a.b.c.d (SIIT)
    lambda a: ipaddress.IPv6Address(0x64FF9B << 96 | int(a)),  # 64:ff9b::a.b.c.d (NAT64)
    lambda a: ipaddress.IPv6Address(0x2002 << 112 | int(a) << 80),  # 2002:a.b.c.d::/48 (6to4)
]


@given(addr=v4, form=st.sampled_from(FORMS))
def test_an_ipv6_form_is_judged_as_its_ipv4(addr: ipaddress.IPv4Address, form: object) -> None:
    v6 = form(addr)  # type: ignore[operator]
    if v6 is None:
        return
    assert embedded_ipv4(v6) == addr
    assert is_public(v6) == is_public(addr)


@given(st.text(max_size=40))
def test_any_allow_list_entry_is_read_or_refused_as_a_settings_error(entry: str) -> None:
    try:
        AllowList([entry])
    except SettingsError:
        pass


@given(host=st.one_of(v4.map(str), st.integers(0, 2**128 - 1).map(
    lambda n: f"[{ipaddress.IPv6Address(n)}]")), port=st.integers(0, 70000),
       scheme=st.sampled_from(["http", "https", "ftp", "file", "HTTP"]),
       path=st.text(max_size=10))
def test_any_literal_url_is_allowed_or_blocked(host: str, port: int, scheme: str,
                                               path: str) -> None:
    url = f"{scheme}://{host}:{port}/{path}"
    try:
        target = check_url(url, AllowList([]))
    except BlockedURL:
        return
    assert scheme.lower() in ("http", "https")
    assert all(is_public(a) for a in target.addresses)


def test_teredo_clients_are_judged_too() -> None:
    with pytest.raises(BlockedURL):
        check_url("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", AllowList([]))
