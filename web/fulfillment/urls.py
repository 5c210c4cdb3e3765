from django.urls import path

# (config/urls.py registers the <delivery_id:...> converter before any URLconf.)
from . import delivery_views, views

app_name = "fulfillment"

urlpatterns = [
    path("products/<int:pk>/webhook/", views.config_edit, name="config-edit"),
    path(
        "products/<int:pk>/webhook/secret/",
        views.config_secret_regenerate,
        name="config-secret-regenerate",
    ),
    path(
        "products/<int:pk>/webhook/secret/reveal/",
        views.config_secret_reveal,
        name="config-secret-reveal",
    ),
    path(
        "products/<int:pk>/webhook/preview/",
        views.config_instructions_preview,
        name="config-instructions-preview",
    ),
    path("products/<int:pk>/webhook/test/", views.config_test, name="config-test"),
    path(
        "products/<int:pk>/webhook/test/<delivery_id:delivery_id>/",
        views.config_test_result,
        name="config-test-result",
    ),
    path(
        "products/<int:pk>/deliveries/",
        delivery_views.delivery_list,
        name="delivery-list",
    ),
    path(
        "products/<int:pk>/deliveries/<delivery_id:delivery_id>/",
        delivery_views.delivery_detail,
        name="delivery-detail",
    ),
    path(
        "products/<int:pk>/deliveries/<delivery_id:delivery_id>/retry/",
        delivery_views.delivery_retry,
        name="delivery-retry",
    ),
    path(
        "products/<int:pk>/deliveries/<delivery_id:delivery_id>/cancel/",
        delivery_views.delivery_cancel,
        name="delivery-cancel",
    ),
    path(
        "products/<int:pk>/deliveries/<delivery_id:delivery_id>/fulfill/",
        delivery_views.delivery_fulfill,
        name="delivery-fulfill",
    ),
]
