from django.urls import path

# (config/urls.py registers the <alert_id:...> converter before any URLconf.)
from . import views

app_name = "alerts"

urlpatterns = [
    path("alerts/", views.alerts_edit, name="edit"),
    path(
        "alerts/secret/regenerate/",
        views.alerts_secret_regenerate,
        name="secret-regenerate",
    ),
    path("alerts/secret/", views.alerts_secret_reveal, name="secret-reveal"),
    path("alerts/test/", views.alerts_test, name="test"),
    path("alerts/<alert_id:alert_id>/", views.alert_detail, name="detail"),
    path("alerts/<alert_id:alert_id>/retry/", views.alert_retry, name="retry"),
]
