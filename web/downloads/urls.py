from django.urls import path

from . import views

app_name = "downloads"

urlpatterns = [
    path("dashboard/products/<int:pk>/files/", views.product_files, name="files"),
    path(
        "dashboard/products/<int:pk>/files/<int:file_pk>/delete/",
        views.product_file_delete_view,
        name="file-delete",
    ),
    path("d/<str:token>/", views.download, name="download"),
]
