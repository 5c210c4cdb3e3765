"""The endpoint of a Webhook URL: the unit of the in-flight limit, the circuit
breaker and the logs. Pure (no Django), so the transport can name it too."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_key_for(url: str) -> str:
    """`scheme://host:port`, lowercase, default port filled in; "" if unusable.

    Pure, so planning and attempting compute the same key from the same URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), parts.hostname  # hostname is lowercase
    if not scheme or not host:
        return ""
    port = port or _DEFAULT_PORTS.get(scheme)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
