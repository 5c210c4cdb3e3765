"""Middleware of the project as a whole."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.cache import patch_cache_control

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


class SignedInNoStoreMiddleware:
    """Nothing shown to a signed-in person is stored by a browser or a proxy.

    Seller pages carry customers' emails, licenses and the webhook's signing
    secret; `Cache-Control: no-store, private` keeps them out of the browser's
    disk cache and any shared cache (a shared computer, the back button after
    logging out). Pages that set their own Cache-Control keep it. Whoever sends
    a session cookie is treated as signed in: deciding costs no query (loading
    the user would cost two on every request, API and 404s included).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES
        if signed_in and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
