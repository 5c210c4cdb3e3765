"""Project-level views that belong to no app."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import health_check


@never_cache
@require_safe
def healthz(request):
    """200 when the database and the broker answer, else 503 naming the failure.
    No login: load balancers call it."""
    report = health_check()
    return JsonResponse(report.as_dict(), status=200 if report.healthy else 503)
