from __future__ import annotations

import ipaddress
import re
import socket
import threading

import pytest

from lib import urlpolicy
from lib.urlpolicy import UrlRefused, check_url


def _check(url, *, require_https=False, allowed=(), resolve=True, timeout=None):
    return check_url(
        url,
        require_https=require_https,
        allowed_networks=list(allowed),
        resolve=resolve,
        timeout=timeout,
    )


@pytest.fixture
def dns(monkeypatch):
    """Make the resolver answer from a dict, so no test needs the network."""
    answers: dict[str, list[str]] = {}

    def fake_resolve_host(host, port):
        if host not in answers:
            raise socket.gaierror("not found")
        return list(answers[host])

    monkeypatch.setattr(urlpolicy, "resolve_host", fake_resolve_host)
    return answers


def test_public_host_is_accepted_and_its_addresses_returned(dns):
    dns["lic.example.com"] = ["93.184.216.34"]

    assert _check("https://lic.example.com/issue") == [
        ipaddress.ip_address("93.184.216.34")
    ]


def test_addresses_come_back_in_resolver_order_without_duplicates(dns):
    # The transport dials the first one, so the order must be the resolver's.
    dns["lic.example.com"] = [
        "2606:2800:220:1:248:1893:25c8:1946",
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ]

    assert _check("https://lic.example.com/issue") == [
        ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"),
        ipaddress.ip_address("93.184.216.34"),
    ]


def test_loopback_ipv6_from_dns_is_refused_unless_allowed(dns):
    dns["v6.example.com"] = ["::1"]

    with pytest.raises(UrlRefused, match="loopback"):
        _check("http://v6.example.com/")
    assert _check("http://v6.example.com/", allowed=["::1/128"]) == [
        ipaddress.ip_address("::1")
    ]


def test_literal_ipv6_address_is_returned_without_resolving(dns):
    assert _check("http://[::1]:8001/", allowed=["::1/128"]) == [
        ipaddress.ip_address("::1")
    ]


@pytest.mark.parametrize("url", ["ftp://lic.example.com/", "file:///etc/passwd", "lic"])
def test_only_http_and_https_are_accepted(url):
    with pytest.raises(UrlRefused, match="https:// or http://"):
        _check(url, resolve=False)


def test_http_is_refused_when_https_is_required():
    with pytest.raises(UrlRefused, match="must use https"):
        _check("http://lic.example.com/", require_https=True, resolve=False)


def test_credentials_in_the_url_are_refused():
    with pytest.raises(UrlRefused, match="user name or password"):
        _check("https://user:pw@lic.example.com/", resolve=False)


def test_url_without_host_is_refused():
    with pytest.raises(UrlRefused, match="needs a host"):
        _check("https:///issue", resolve=False)


def test_unknown_host_is_refused_in_plain_words(dns):
    with pytest.raises(UrlRefused, match="could not find the host nowhere.example"):
        _check("https://nowhere.example/")


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.0.0.5", "in a private network"),
        ("192.168.1.2", "in a private network"),
        ("127.0.0.1", "loopback"),
        ("169.254.1.1", "link-local"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_non_public_resolved_address_is_refused_with_reason(dns, address, words):
    dns["sneaky.example.com"] = [address]

    with pytest.raises(UrlRefused) as refused:
        _check("https://sneaky.example.com/")

    assert words in refused.value.reason
    assert f"The address {address}" in refused.value.reason
    assert "webhooks must go to a public address" in refused.value.reason


def test_one_private_address_among_public_ones_is_refused(dns):
    dns["mixed.example.com"] = ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(UrlRefused, match="10.1.2.3"):
        _check("https://mixed.example.com/")


@pytest.mark.parametrize(
    "host", ["[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "[fc00::1]"]
)
def test_non_public_ipv6_literals_are_refused(host):
    with pytest.raises(UrlRefused, match="public address"):
        _check(f"http://{host}/", resolve=False)


def test_ipv4_mapped_address_is_refused_even_inside_an_allowed_network():
    with pytest.raises(UrlRefused, match="IPv4-mapped"):
        _check("http://[::ffff:127.0.0.1]/", allowed=["127.0.0.0/8"])


def test_loopback_is_accepted_inside_an_allowed_network():
    assert _check("http://127.0.0.1:8001/issue", allowed=["127.0.0.0/8"]) == [
        ipaddress.ip_address("127.0.0.1")
    ]


def test_literal_private_address_is_refused_even_without_resolving():
    with pytest.raises(UrlRefused, match="private network"):
        _check("http://10.0.0.5/", resolve=False)


def test_without_resolving_a_host_name_is_only_checked_for_form(dns):
    assert _check("https://anything.example/", resolve=False) == []


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1"])
def test_host_written_as_a_number_is_refused_before_resolving(dns, host):
    with pytest.raises(UrlRefused, match="written as a number"):
        _check(f"http://{host}/", resolve=False)


def test_cloud_metadata_is_refused_even_inside_an_allowed_network(dns):
    dns["meta.example.com"] = ["169.254.169.254"]

    with pytest.raises(UrlRefused, match="cloud metadata"):
        _check("http://meta.example.com/", allowed=["169.254.0.0/16"])


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("[64:ff9b::10.0.0.1]", "NAT64) IPv6 address for 10.0.0.1"),
        ("[2002:7f00:1::]", "6to4 IPv6 address for 127.0.0.1"),
        ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo"),
    ],
)
def test_ipv6_forms_carrying_a_refused_ipv4_are_refused(host, words):
    with pytest.raises(UrlRefused, match=re.escape(words)):
        _check(f"http://{host}/", resolve=False)


def test_slow_resolver_is_given_up_on_in_time(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(urlpolicy, "resolve_host", lambda host, port: release.wait(5))

    try:
        with pytest.raises(urlpolicy.LookupTimedOut, match="look up the host in time"):
            _check("https://slow.example.com/", timeout=0.05)
    finally:
        release.set()
