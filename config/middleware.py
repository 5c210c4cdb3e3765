"""Middleware of the project as a whole."""

from __future__ import annotations

from django.urls import reverse

from .views import healthz


class HealthzMiddleware:
    """Answer /healthz before any other middleware.

    Load balancers probe each server by its address (`Host: 10.0.3.7:8000`), over
    plain http: further down, host validation would answer 400 (the address is
    not in ALLOWED_HOSTS) and SecurityMiddleware would redirect to https. The
    answer says only "ok" or which check failed, so it needs neither.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = reverse("healthz")

    def __call__(self, request):
        if request.path_info == self.path:
            return healthz(request)
        return self.get_response(request)
