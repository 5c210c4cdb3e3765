from django.urls import path

from . import views

app_name = "fulfillment"

urlpatterns = [
    path("products/<int:pk>/webhook/", views.config_edit, name="config-edit"),
    path(
        "products/<int:pk>/webhook/secret/",
        views.config_secret_regenerate,
        name="config-secret-regenerate",
    ),
    path("products/<int:pk>/webhook/test/", views.config_test, name="config-test"),
    path(
        "products/<int:pk>/webhook/test/<str:delivery_id>/",
        views.config_test_result,
        name="config-test-result",
    ),
]
