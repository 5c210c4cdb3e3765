"""Which Webhook URLs we are willing to call.

Sellers type any URL they like; without this check a seller could make our
workers reach our own database, a cloud metadata endpoint or an office printer
(server-side request forgery). This module is the single seam for that policy,
used by the editor form (to explain the problem early) and by the transport
(to enforce it right before connecting).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


class UrlRefused(Exception):
    """A URL we will not call, with a reason a seller can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(
            f"We could not find the host {host}. Check the spelling of the Webhook URL."
        ) from exc
    # getaddrinfo may return the same address once per protocol; keep the order.
    found = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    return list(dict.fromkeys(found))


def _problem(address: IPAddress) -> str:
    """Why an address is not public, in plain words ("" when it is public)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        # Mapped addresses are refused outright: they are a classic way to
        # dress up 127.0.0.1 or 10.x so that naive checks miss them.
        return "is an IPv4-mapped IPv6 address"
    checks = [
        (address.is_loopback, "is a loopback address (this machine)"),
        (address.is_unspecified, "is unspecified"),
        (address.is_link_local, "is link-local"),
        (address.is_multicast, "is a multicast address"),
        (address in _SHARED_ADDRESS_SPACE, "is in the shared carrier network"),
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


def check_address(address: IPAddress, *, allowed_networks: list[str]) -> None:
    """Refuse one resolved address unless it is public or explicitly allowed."""
    problem = _problem(address)
    if problem and not _is_allowed(address, allowed_networks):
        raise UrlRefused(
            f"The address {address} {problem}; webhooks must go to a public address."
        )


def check_url(
    url: str,
    *,
    require_https: bool,
    allowed_networks: list[str],
    resolve: bool = True,
) -> list[IPAddress]:
    """Refuse a URL we must not call; return the addresses its host resolved to.

    With `resolve`, every address the host resolves to must be acceptable: an
    attacker controlling DNS could otherwise return one public and one private
    address. Without it, only the URL's form is checked (and [] is returned),
    except that a literal IP address is always checked.

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
        addresses = _resolve(host, port)
    else:
        return []
    for address in addresses:
        check_address(address, allowed_networks=allowed_networks)
    return addresses


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url_from_settings(url: str, resolve: bool = True) -> list[IPAddress]:
    """check_url with this deployment's policy (https in production, allowlist)."""
    return check_url(
        url,
        require_https=bool(settings.PRODUCTION),
        allowed_networks=list(settings.FULFILLMENT["ALLOWED_PRIVATE_NETWORKS"]),
        resolve=resolve,
    )
