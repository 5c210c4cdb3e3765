"""The client's IP address, as every per-client limit and the login throttle
see it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXY proxies the address the outermost
    trusted one saw (config/settings.py, AXES_CLIENT_IP_CALLABLE)."""
    behind_proxy = settings.AXES_CLIENT_IP_CALLABLE
    ip = behind_proxy(request) if behind_proxy else request.META.get("REMOTE_ADDR")
    return ip or "unknown"
