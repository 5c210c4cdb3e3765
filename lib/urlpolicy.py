"""Which Webhook URLs we are willing to call.

Sellers type any URL they like; without this check a seller could make our
workers reach our own database, a cloud metadata endpoint or an office printer
(server-side request forgery). This module is the single seam for that policy,
used by the editor form (to explain the problem when the seller saves) and by
the transport (to enforce it right before connecting).

The host name is looked up once, through `resolve_host` (tests replace that one
function), in a worker thread with a time limit, and every address it answers
must be acceptable.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The longest we wait for a DNS answer, whatever time the caller has left.
MAX_LOOKUP_SECONDS = 5.0
# getaddrinfo cannot be given a timeout, so it runs in a worker thread that we
# stop waiting for. A stuck lookup keeps its thread until the resolver gives
# up; a few threads are enough because lookups are short when DNS is healthy.
# Threads start on first use, so a forking Celery parent never owns one.
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="urlpolicy-dns")

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
# Cloud metadata services hand out credentials to whoever asks from inside the
# machine; no allowlist entry may ever open them (AWS, GCP, Azure, OpenStack
# use the IPv4 one, AWS Nitro also the IPv6 one).
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (RFC 6052 NAT64:
# the well-known prefix and the local-use one). A gateway turns them into IPv4
# connections, so the embedded address is what would really be reached.
_TRANSLATED = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
# A label of a numeric host: decimal, octal (leading 0) or hex (0x...).
_NUMBER_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


class UrlRefused(Exception):
    """A URL we will not call, with a reason a seller can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LookupFailed(UrlRefused):
    """The host name did not resolve (no such name, or the resolver failed).

    At save it refuses the URL like any other reason. At send it is a passing
    problem as far as we can tell (a resolver outage, a DNS change in progress):
    the delivery is retried, unlike a URL the policy refuses."""


class LookupTimedOut(LookupFailed):
    """The resolver did not answer in time."""


def _host_of(url: str, *, require_https: bool) -> tuple[str, int]:
    # The checks that need no network: scheme, credentials, host.
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("The Webhook URL is not a valid address.") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("The Webhook URL must start with https:// or http://.")
    if require_https and parts.scheme != "https":
        raise UrlRefused("The Webhook URL must use https://.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(
            "The Webhook URL must not contain a user name or password; "
            "check our signature headers instead."
        )
    if not parts.hostname:
        raise UrlRefused("The Webhook URL needs a host name, e.g. https://example.com.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _refuse_numeric_host(host: str) -> None:
    # 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 all mean 127.0.0.1 to some
    # resolvers and nothing to others (browsers, libc and Python disagree), so
    # such a host is refused as written rather than guessed at.
    labels = host.rstrip(".").split(".")
    if all(_NUMBER_LABEL.fullmatch(label) for label in labels):
        raise UrlRefused(
            f"The host {host} is written as a number; use a host name or a dotted "
            "IPv4 address such as 192.0.2.10."
        )


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (may repeat).

    The one function that asks DNS; tests replace it. Raises OSError (gaierror)
    or UnicodeError when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    wait = MAX_LOOKUP_SECONDS if timeout is None else min(timeout, MAX_LOOKUP_SECONDS)
    future = _LOOKUPS.submit(resolve_host, host, port)
    try:
        answers = future.result(timeout=max(wait, 0.0))
    except FutureTimeout as exc:
        future.cancel()
        raise LookupTimedOut(
            f"We could not look up the host in time ({host}); we will try again."
        ) from exc
    except (OSError, UnicodeError) as exc:
        raise LookupFailed(
            f"We could not find the host {host}. Check the spelling of the Webhook URL."
        ) from exc
    # A scope id (fe80::1%eth0) is not part of the address we check.
    found = [ipaddress.ip_address(answer.split("%")[0]) for answer in answers]
    if not found:
        raise LookupFailed(f"We could not find the host {host}.")
    # getaddrinfo may return the same address once per protocol; keep the order.
    return list(dict.fromkeys(found))


def _embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, and how it carries it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address", address.ipv4_mapped
    if any(address in network for network in _TRANSLATED):
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return "an IPv4-translated (NAT64) IPv6 address", embedded
    if address.sixtofour is not None:
        return "a 6to4 IPv6 address", address.sixtofour
    return None


def _problem(address: IPAddress) -> str:
    """Why an address is not public, in plain words ("" when it is public)."""
    if address in _METADATA:
        return "is a cloud metadata address"
    checks = [
        (address.is_loopback, "is a loopback address (this machine)"),
        (address.is_unspecified, "is unspecified"),
        (address.is_link_local, "is link-local"),
        (address.is_multicast, "is a multicast address"),
        (
            address in _SHARED_ADDRESS_SPACE,
            "is in the carrier-grade NAT range 100.64.0.0/10",
        ),
        # Python counts reserved ranges (240.0.0.0/4) as private too; the more
        # specific word helps the seller more.
        (address.is_reserved, "is reserved"),
        (address.is_private, "is in a private network"),
        (not address.is_global, "is not a public address"),
    ]
    return next((reason for failed, reason in checks if failed), "")


def _is_allowed(address: IPAddress, allowed_networks: list[str]) -> bool:
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in allowed_networks
    )


def _refuse(address: IPAddress, problem: str) -> UrlRefused:
    return UrlRefused(
        f"The address {address} {problem}; webhooks must go to a public address."
    )


def check_address(address: IPAddress, *, allowed_networks: list[str]) -> None:
    """Refuse one resolved address unless it is public or explicitly allowed.

    The allowlist never opens cloud metadata addresses, and never IPv4-mapped
    ones (a classic disguise for 127.0.0.1 or 10.x that naive checks miss).
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        _check_embedded(address, *embedded, allowed_networks=allowed_networks)
    if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
        # Teredo tunnels through a relay to an address we cannot check.
        raise _refuse(address, "is a Teredo tunnel address")
    problem = _problem(address)
    if not problem:
        return
    if address in _METADATA or not _is_allowed(address, allowed_networks):
        raise _refuse(address, problem)


def _check_embedded(
    address: IPAddress,
    kind: str,
    inner: ipaddress.IPv4Address,
    *,
    allowed_networks: list[str],
) -> None:
    problem = _problem(inner)
    if problem and (inner in _METADATA or not _is_allowed(inner, allowed_networks)):
        raise _refuse(address, f"is {kind} for {inner}, which {problem}")
    # Only an IPv6 address carries one (see _embedded_ipv4).
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise _refuse(address, f"is {kind} (for {inner}); use {inner} itself")


def check_url(
    url: str,
    *,
    require_https: bool,
    allowed_networks: list[str],
    resolve: bool = True,
    timeout: float | None = None,
) -> list[IPAddress]:
    """Refuse a URL we must not call; return the addresses its host resolved to.

    With `resolve`, every address the host resolves to must be acceptable: an
    attacker controlling DNS could otherwise return one public and one private
    address. The lookup waits at most `timeout` seconds (and never more than
    MAX_LOOKUP_SECONDS); a slow resolver raises LookupTimedOut. Without
    `resolve`, only the URL's form is checked (and [] is returned), except that
    a literal IP address is always checked.

    The returned addresses are the checked ones, in the resolver's order and
    without duplicates. Whoever connects must connect to one of them and never
    resolve the name again: a second lookup may answer differently (DNS
    rebinding), which would make this check worthless. The transport does so.
    """
    host, port = _host_of(url, require_https=require_https)
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    elif resolve:
        _refuse_numeric_host(host)
        addresses = _resolve(host, port, timeout)
    else:
        _refuse_numeric_host(host)
        return []
    for address in addresses:
        check_address(address, allowed_networks=allowed_networks)
    return addresses


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
