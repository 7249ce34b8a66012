import pytest

from likewatch.netguard import AllowList, BlockedURL, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://172.16.5.4/x",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/x",
        "http://[fe80::1]/x",
        "http://[::ffff:127.0.0.1]/x",
    ],
)
def test_private_and_loopback_addresses_are_refused_by_default(url):
    with pytest.raises(BlockedURL):
        check_url(url, AllowList([]))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/"])
def test_only_http_schemes_are_allowed(url):
    with pytest.raises(BlockedURL, match="scheme"):
        check_url(url, AllowList(["0.0.0.0/0"]))


def test_public_address_passes_without_allow_list():
    check_url("http://93.184.215.14/video/1", AllowList([]))


def test_allow_list_by_cidr_and_by_host():
    check_url("http://127.0.0.1:8700/browse", AllowList(["127.0.0.0/8"]))
    check_url("http://localhost:8700/browse", AllowList(["localhost"]))
    with pytest.raises(BlockedURL):
        check_url("http://10.0.0.1/", AllowList(["127.0.0.0/8"]))


def test_allow_list_comes_from_settings(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1/32")
    check_url("http://127.0.0.1:1/")
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "")
    with pytest.raises(BlockedURL, match="allow_private_hosts"):
        check_url("http://127.0.0.1:1/")
