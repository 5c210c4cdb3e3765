from django.urls import path, re_path

from web.orders import api, openapi, seller_views, views

app_name = "orders"

urlpatterns = [
    path("p/<slug:slug>/", views.product_detail, name="product"),
    path("p/<slug:slug>/checkout/", views.checkout, name="checkout"),
    path("orders/<str:token>/", views.order_detail, name="order"),
    path("orders/<str:token>/status/", views.order_status, name="order-status"),
    path("dashboard/orders/", seller_views.seller_orders, name="seller-orders"),
    path("dashboard/orders/<int:pk>/", seller_views.seller_order, name="seller-order"),
    path(
        "dashboard/orders/<int:pk>/deliveries/<delivery_id:delivery_id>/retry/",
        seller_views.seller_delivery_retry,
        name="seller-delivery-retry",
    ),
    path(
        "dashboard/orders/<int:pk>/email/resend/",
        seller_views.seller_order_email_resend,
        name="seller-order-email-resend",
    ),
    path(
        "dashboard/orders/<int:pk>/refund/",
        seller_views.seller_order_refund,
        name="seller-order-refund",
    ),
    path(
        "dashboard/orders/<int:pk>/cancel/",
        seller_views.seller_order_cancel,
        name="seller-order-cancel",
    ),
    path("api/v1/openapi.json", openapi.openapi_json, name="api-openapi"),
    path("api/v1/orders", api.orders_create, name="api-orders"),
    # After-sale events: matched before the order itself, so that a transaction
    # id may hold slashes. An id no order has is the view's 404, as below.
    re_path(
        r"^api/v1/orders/(?P<transaction_id>[\s\S]*)/refunds\Z",
        api.order_refunds,
        name="api-order-refunds",
    ),
    re_path(
        r"^api/v1/orders/(?P<transaction_id>[\s\S]*)/disputes\Z",
        api.order_disputes,
        name="api-order-disputes",
    ),
    # Any rest of the path, even empty or with a line break: an id no order has
    # is the view's 404 order_not_found in the API's JSON, not the site's HTML.
    re_path(
        r"^api/v1/orders/(?P<transaction_id>[\s\S]*)\Z",
        api.order_detail,
        name="api-order",
    ),
]
