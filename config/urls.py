from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path
from django.views.generic import RedirectView

# Registers <delivery_id:...> and <alert_id:...> before any app's URLconf uses it.
import fulfillment.converters  # noqa: F401
from config.views import healthz, metrics


def _anymail_tracking_urls() -> list:
    """Anymail's tracking webhook for the ESP we send with, and nothing else.

    Not all of `anymail.urls`: we receive no inbound mail, and each ESP's view
    fails (500) until that ESP's own keys are set, so unused ones only add noise.
    """
    from anymail import urls as anymail_urls

    esp = settings.EMAIL_TRACKING_ESP
    if not esp:
        return []
    patterns = [
        pattern
        for pattern in anymail_urls.urlpatterns
        if pattern.name == f"{esp}_tracking_webhook"
    ]
    if not patterns:
        raise ImproperlyConfigured(
            f"EMAIL_TRACKING_ESP={esp}: Anymail has no tracking webhook of that name "
            "(use the name in anymail.backends.<name>, e.g. postmark or mailgun)."
        )
    return patterns


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="products:list", permanent=False)),
    # For load balancers and process managers: no login, 200 or 503 as JSON.
    # config.middleware.HealthzMiddleware answers it before host validation and
    # the https redirect; the pattern names it.
    path("healthz", healthz, name="healthz"),
    # For Prometheus: a bearer token (METRICS_TOKEN), through the usual host
    # validation and https redirect (scrape it by the site's name).
    path("metrics", metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", include("web.products.urls")),
    path("dashboard/", include("web.fulfillment.urls")),
    path("dashboard/", include("web.alerts.urls")),
    path("dashboard/", include("web.keylists.urls")),
    path("", include("web.orders.urls")),
    path("", include("web.purchases.urls")),
    path("", include("web.downloads.urls")),
    # Public, but Anymail refuses any request without ANYMAIL["WEBHOOK_SECRET"].
    path("anymail/", include((_anymail_tracking_urls(), "anymail"))),
    path("admin/", admin.site.urls),
]
