"""Project-level views that belong to no app."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from fulfillment.metrics import metrics_exposition

from .health import health_check


@never_cache
@require_safe
def healthz(request):
    """200 when the database and the broker answer, else 503 naming the failure.
    No login: load balancers call it."""
    report = health_check()
    return JsonResponse(report.as_dict(), status=200 if report.healthy else 503)


@never_cache
@require_safe
def metrics(request):
    """The figures to watch for Prometheus (fulfillment/metrics.py), to a scraper
    that sends `Authorization: Bearer <METRICS_TOKEN>`. Without a token set it is
    open in development and does not exist (404) in production."""
    token = settings.METRICS_TOKEN
    if not token and settings.PRODUCTION:
        raise Http404
    if token and not _bearer_matches(request, token):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_exposition(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _bearer_matches(request, token: str) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    # Constant time: how long the comparison takes says nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )
