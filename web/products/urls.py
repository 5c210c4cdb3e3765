from django.urls import path

from . import views

app_name = "products"

urlpatterns = [
    path("", views.product_list, name="list"),
    path("products/new/", views.product_create, name="create"),
    path("products/<int:pk>/", views.product_detail, name="detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="edit"),
    path(
        "products/<int:pk>/checklist/", views.product_checklist_view, name="checklist"
    ),
    path("products/<int:pk>/publish/", views.product_publish, name="publish"),
    path("products/<int:pk>/unpublish/", views.product_unpublish, name="unpublish"),
    path(
        "products/<int:pk>/email-preview/",
        views.product_email_preview,
        name="email-preview",
    ),
]
