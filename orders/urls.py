from django.urls import path

from orders import api, views

app_name = "orders"

urlpatterns = [
    path("p/<slug:slug>/", views.product_detail, name="product"),
    path("p/<slug:slug>/checkout/", views.checkout, name="checkout"),
    path("orders/<str:token>/", views.order_detail, name="order"),
    path("api/v1/orders", api.orders_create, name="api-orders"),
    path("api/v1/orders/<path:transaction_id>", api.order_detail, name="api-order"),
]
