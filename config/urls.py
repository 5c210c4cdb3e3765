from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="products:list", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", include("products.urls")),
    path("dashboard/", include("fulfillment.urls")),
    path("", include("orders.urls")),
    path("admin/", admin.site.urls),
]
