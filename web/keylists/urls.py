from django.urls import path

from . import views

app_name = "keylists"

urlpatterns = [
    path("products/<int:pk>/keys/", views.key_list_page, name="list"),
    path(
        "products/<int:pk>/keys/threshold/",
        views.key_list_threshold,
        name="threshold",
    ),
    path(
        "products/<int:pk>/keys/<int:key_id>/remove/",
        views.license_key_remove,
        name="key-remove",
    ),
]
