"""The project's URLs plus `/bench/trivial`, the API scenario's yardstick: the same
server, the same middleware, no work."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [*project_urlpatterns, path("bench/trivial", trivial)]
