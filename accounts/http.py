"""What views read off a request: the signed-in seller behind
`login_required`, and the client's IP address."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest


class SellerRequest(HttpRequest):
    """What `login_required` guarantees: the user is an account, not anonymous.
    (A type only: Django builds the request; type checkers read the user as one
    of ours.)"""

    user: User


def client_ip(request: HttpRequest) -> str:
    """The client's IP address as every per-client limit and the login
    throttle see it: REMOTE_ADDR, or behind TRUSTED_PROXY proxies the address
    the outermost trusted one saw (config/settings.py, AXES_CLIENT_IP_CALLABLE)."""
    behind_proxy = settings.AXES_CLIENT_IP_CALLABLE
    ip = behind_proxy(request) if behind_proxy else request.META.get("REMOTE_ADDR")
    return ip or "unknown"
