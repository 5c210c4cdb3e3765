"""Every URL of the project, requested as another seller and as a stranger.

Who may see what: alice owns the product, the order and its deliveries built
below; bob is another seller and must get a 404 (or a 405 that says nothing) on
every dashboard URL of alice's objects, and never see her data; an anonymous
visitor is sent to a login page, or answered 401 by the API. Public pages (the
product page, the order page behind its secret token, the account pages) stay
open.

The walk is over `get_resolver()`, so a new URL pattern is requested without
anyone remembering to add it here; and it must be classified below, or
`test_every_url_pattern_is_classified` fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern

from fulfillment.services.alerts import (
    alert_emit,
    alert_endpoint_get_or_create,
    alert_endpoint_save,
)
from keylists.services import license_keys_add
from products.models import Product
from tests.factories import DeliveryFactory, add_file
from web.orders.services import order_place
from web.products.services import product_create

pytestmark = pytest.mark.django_db

# A seller URL about one of alice's objects: owner only.
OWNER = "owner"
# A seller URL about the visitor's own things (lists, the create form): any
# seller may open it, and sees only their own.
OWN_LIST = "own-list"
# The orders API: Bearer tokens only, never a session.
API = "api"
# Open to everyone.
PUBLIC = "public"
# Operators' scrapers: only the bearer METRICS_TOKEN opens it (set for this
# walk, as in production); no session, staff or seller, is a credential.
OPERATOR = "operator"
# Django admin: staff only. Every view of the `admin` namespace is wrapped in
# `AdminSite.admin_view`, so the namespace is classified as a whole (a new
# ModelAdmin adds URLs here without a new decision to make).
ADMIN = "admin"

CLASSIFICATION: dict[str, str] = {
    # The site root redirects to the dashboard, which then asks for a login.
    "route:": PUBLIC,
    "signup": PUBLIC,
    "signup-sent": PUBLIC,
    "signup-resend": PUBLIC,
    # The link's token is the credential; the walk's is not one.
    "signup-confirm": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_change": PUBLIC,
    "password_change_done": PUBLIC,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "products:list": OWN_LIST,
    "products:create": OWN_LIST,
    "products:detail": OWNER,
    "products:edit": OWNER,
    "products:checklist": OWNER,
    "products:publish": OWNER,
    "products:unpublish": OWNER,
    "products:email-preview": OWNER,
    "fulfillment:config-edit": OWNER,
    "fulfillment:config-secret-regenerate": OWNER,
    "fulfillment:config-secret-reveal": OWNER,
    "fulfillment:config-instructions-preview": OWNER,
    "fulfillment:config-test": OWNER,
    "fulfillment:config-test-result": OWNER,
    "fulfillment:delivery-list": OWNER,
    "fulfillment:delivery-detail": OWNER,
    "fulfillment:delivery-retry": OWNER,
    "fulfillment:delivery-cancel": OWNER,
    "fulfillment:delivery-fulfill": OWNER,
    # A product's Files page and its delete button (the file is alice's).
    "downloads:files": OWNER,
    "downloads:file-delete": OWNER,
    # A customer's download link: the signed token is the credential (the
    # walk's token, an order's, is no such link: see tests/web/downloads).
    "downloads:download": PUBLIC,
    # A product's license key list page, its threshold and a key's removal.
    "keylists:list": OWNER,
    "keylists:threshold": OWNER,
    "keylists:key-remove": OWNER,
    # The Alerts page and its actions are the signed-in seller's own endpoint.
    "alerts:edit": OWN_LIST,
    "alerts:secret-regenerate": OWN_LIST,
    "alerts:secret-reveal": OWN_LIST,
    "alerts:test": OWN_LIST,
    "alerts:detail": OWNER,
    "alerts:retry": OWNER,
    "orders:product": PUBLIC,
    "orders:checkout": PUBLIC,
    "orders:order": PUBLIC,
    # Knowing the order's secret token is the credential, as for the page.
    "orders:order-status": PUBLIC,
    "orders:seller-orders": OWN_LIST,
    "orders:seller-order": OWNER,
    "orders:seller-delivery-retry": OWNER,
    "orders:seller-order-email-resend": OWNER,
    "orders:seller-order-refund": OWNER,
    "orders:seller-order-cancel": OWNER,
    # "Find my purchase": the form and its one answer are open to everyone; the
    # list opens only with the signed link emailed to the address (the walk's
    # token, an order's, is no such link: see tests/web/purchases).
    "purchases:find": PUBLIC,
    "purchases:sent": PUBLIC,
    "purchases:list": PUBLIC,
    "orders:api-orders": API,
    "orders:api-order": API,
    "orders:api-order-refunds": API,
    "orders:api-order-disputes": API,
    # The API's OpenAPI document: the contract, read before a provider has a token.
    "orders:api-openapi": PUBLIC,
    # The ESP's tracking webhook (Postmark's outside production, see
    # EMAIL_TRACKING_ESP): public, authenticated by ANYMAIL["WEBHOOK_SECRET"]
    # alone, so a seller's session gets the same 400 as a stranger.
    "anymail:postmark_tracking_webhook": PUBLIC,
    # The admin's own login page is where everyone else is sent.
    "admin:login": PUBLIC,
    # Load balancers' health check: no login, says only "ok" or which check failed.
    "healthz": PUBLIC,
    "metrics": OPERATOR,
}

# Routes whose `pk` is one of alice's orders; every other `pk` is her product.
ORDER_PK_NAMES = {
    "orders:seller-order",
    "orders:seller-delivery-retry",
    "orders:seller-order-email-resend",
    "orders:seller-order-refund",
    "orders:seller-order-cancel",
}
# The webhook test result shows a test delivery; every other delivery_id is the
# delivery of alice's order.
TEST_DELIVERY_NAMES = {"fulfillment:config-test-result"}

PRODUCT_NAME = "Alice Secret Widget"
CUSTOMER_EMAIL = "alice-customer@example.com"
# Her order's passthrough: shown to alice and staff only, never on any page
# bob or a stranger can open, the customer's order page included.
PASSTHROUGH = "alice-passthrough-acct-42"
ALERTS_URL = "https://alice-alerts.example.com/hook"
ROLES = ["bob", "anonymous"]
METHODS = ["get", "post"]


@dataclass(frozen=True)
class Route:
    name: str | None  # namespaced, e.g. "orders:seller-order"
    route: str  # the full pattern, e.g. "dashboard/orders/<int:pk>/"
    regex: bool

    @property
    def key(self) -> str:
        return self.name or f"route:{self.route}"

    @property
    def kind(self) -> str | None:
        if self.key in CLASSIFICATION:
            return CLASSIFICATION[self.key]
        if self.route.startswith("admin/") and (
            self.name is None or self.name.startswith("admin:")
        ):
            return ADMIN
        return None


def _walk(patterns, prefix: str = "", namespace: str | None = None, regex=False):
    for pattern in patterns:
        is_regex = regex or isinstance(pattern.pattern, RegexPattern)
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else None
                inner = inner or pattern.namespace
            yield from _walk(pattern.url_patterns, route, inner, is_regex)
        elif isinstance(pattern, URLPattern):
            name = pattern.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield Route(name=name, route=route, regex=is_regex)


ROUTES = list(_walk(get_resolver().url_patterns))


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = "tenancy-walk-metrics-token-0123456789abcdef"


# The name of alice's product file: shown to her and her customers only.
FILE_NAME = "alice-secret-installer.dmg"


@pytest.fixture
def alice_data(alice, downloads_storage):
    """alice's live product with a file, a paid order with its delivery, and a
    test delivery."""
    product = product_create(
        seller=alice, name=PRODUCT_NAME, slug="alice-widget", price=Decimal("9.00")
    )
    Product.objects.filter(pk=product.pk).update(status="live")
    product.refresh_from_db()
    order = order_place(
        product=product,
        quantity=1,
        customer_email=CUSTOMER_EMAIL,
        passthrough=PASSTHROUGH,
    )
    delivery = order.deliveries.get()
    test_delivery = DeliveryFactory(product=product)
    file = add_file(product, name=FILE_NAME)
    # A key in her product's list (for its fallback): the removal route's key.
    license_keys_add(product_id=product.pk, text="ALICE-KEY-1")
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(endpoint=endpoint, url=ALERTS_URL, events=["order.refunded"])
    alert_id = alert_emit(
        seller_id=alice.pk,
        type="order.refunded",
        subject=f"order:{order.pk}",
        data={"customer": {"email": CUSTOMER_EMAIL}},
    )
    return {
        "alert_id": alert_id,
        "alerts_secret": endpoint.signing_secret,
        "product": product,
        "order": order,
        "delivery": delivery,
        "test_delivery": test_delivery,
        "file": file,
        "alice": alice,
    }


def _value(route: Route, param: str, data: dict) -> str:
    product, order = data["product"], data["order"]
    if param == "pk":
        return str(order.pk if route.name in ORDER_PK_NAMES else product.pk)
    if param == "delivery_id":
        chosen = data[
            "test_delivery" if route.name in TEST_DELIVERY_NAMES else "delivery"
        ]
        return chosen.delivery_id
    values = {
        "alert_id": data["alert_id"],
        "file_pk": str(data["file"].pk),
        "key_id": str(product.key_list.keys.get().pk),
        "slug": product.slug,
        "token": order.token,
        "transaction_id": order.transaction_id,
        "object_id": str(product.pk),
        "content_type_id": str(ContentType.objects.get_for_model(Product).pk),
        "id": str(data["alice"].pk),
        "uidb64": "MQ",
        "app_label": "products",
        "url": "no-such-page/",
    }
    return values[param]


def _url(route: Route, data: dict) -> str:
    if route.regex:
        path = re.sub(
            r"\(\?P<(\w+)>[^)]*\)",
            lambda m: _value(route, m.group(1), data),
            route.route,
        )
        return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "")
    path = re.sub(
        r"<(?:\w+:)?(\w+)>", lambda m: _value(route, m.group(1), data), route.route
    )
    return "/" + path


def _request(client, method: str, url: str):
    if method == "get":
        return client.get(url)
    return client.post(url, {})


def _assert_no_alice_data(response, url: str, method: str) -> None:
    body = response.content.decode(errors="replace")
    assert PRODUCT_NAME not in body, f"{method.upper()} {url} shows alice's product"
    assert CUSTOMER_EMAIL not in body, f"{method.upper()} {url} shows her customer"
    assert ALERTS_URL not in body, f"{method.upper()} {url} shows her Alerts URL"
    assert FILE_NAME not in body, f"{method.upper()} {url} shows her file"


def _assert_no_passthrough(response, url: str, method: str) -> None:
    body = response.content.decode(errors="replace")
    assert PASSTHROUGH not in body, f"{method.upper()} {url} shows the passthrough"


def _assert_anonymous(kind: str, response, url: str, method: str) -> None:
    where = f"{method.upper()} {url}"
    if kind in (OWNER, OWN_LIST):
        assert response.status_code == 302, where
        assert response["Location"].startswith("/accounts/login/?next="), where
    elif kind == API:
        _assert_api_refused(response, url, method)
    elif kind == ADMIN:
        _assert_admin_refused(response, where)
    elif kind == OPERATOR:
        _assert_operator_only(response, method, where)
    else:
        assert response.status_code < 500, where
        assert response.status_code not in (401, 403), where


def _assert_operator_only(response, method: str, where: str) -> None:
    # GET without the token is 401; POST is refused before any credential.
    assert response.status_code == (401 if method == "get" else 405), where


def _assert_api_refused(response, url: str, method: str) -> None:
    # The API answers a wrong method 405 before it looks at credentials, which
    # tells nothing; the right method without a token is 401.
    posted = url == "/api/v1/orders" or url.endswith(("/refunds", "/disputes"))
    allowed = "post" if posted else "get"
    expected = 401 if method == allowed else 405
    assert response.status_code == expected, f"{method.upper()} {url}"
    assert response["Content-Type"] == "application/json", f"{method.upper()} {url}"


def _assert_admin_refused(response, where: str) -> None:
    assert response.status_code == 302, where
    location = response["Location"]
    # Admin logout sends non-staff to the admin index, which asks them to log in.
    assert location.startswith("/admin/login/") or location == "/admin/", where


def _assert_bob(kind: str, response, url: str, method: str) -> None:
    where = f"{method.upper()} {url}"
    if kind == OWNER:
        assert response.status_code in (404, 405), where
        _assert_no_alice_data(response, url, method)
    elif kind == OWN_LIST:
        assert response.status_code < 500, where
        _assert_no_alice_data(response, url, method)
    elif kind == API:
        # A seller's session is not an API credential.
        _assert_api_refused(response, url, method)
        _assert_no_alice_data(response, url, method)
    elif kind == ADMIN:
        # bob is not staff.
        _assert_admin_refused(response, where)
    elif kind == OPERATOR:
        _assert_operator_only(response, method, where)
    else:
        assert response.status_code < 500, where


def test_every_url_pattern_is_classified():
    unclassified = sorted(route.key for route in ROUTES if route.kind is None)
    assert unclassified == [], (
        "Classify these URL patterns in tests/security/test_tenancy.py: "
        + ", ".join(unclassified)
    )


def test_classification_names_only_existing_patterns():
    keys = {route.key for route in ROUTES}
    assert sorted(set(CLASSIFICATION) - keys) == []


def test_the_walk_covers_the_dashboard_and_the_api():
    kinds = [route.kind for route in ROUTES]
    assert kinds.count(OWNER) >= 16
    assert kinds.count(API) == 4
    assert kinds.count(ADMIN) > 10


OWNER_ROUTES = [route for route in ROUTES if route.kind == OWNER]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_filled_url_resolves_to_its_own_pattern(alice_data, route):
    # Django drops the inner `^` of a regex route when it joins the prefixes.
    resolved = resolve(_url(route, alice_data)).route
    assert resolved.replace("^", "") == route.route.replace("^", "")


@pytest.mark.parametrize("route", OWNER_ROUTES, ids=lambda route: route.key)
def test_alice_reaches_her_own_objects(client, alice_data, route):
    # The control for bob's 404s: the filled URLs name objects that exist.
    client.force_login(alice_data["alice"])
    response = client.get(_url(route, alice_data))
    assert response.status_code in (200, 405)


def test_alice_sees_the_passthrough_on_her_order_page(client, alice_data):
    # The control for the walk's "never shown": her own order page does.
    client.force_login(alice_data["alice"])
    url = reverse("orders:seller-order", args=[alice_data["order"].pk])
    assert PASSTHROUGH in client.get(url).content.decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_url_refuses_other_sellers_and_strangers(client, bob, alice_data, route, role):
    url = _url(route, alice_data)
    for method in METHODS:
        # Fresh each time: a logout URL must not change the next request's visitor.
        client.logout()
        if role == "bob":
            client.force_login(bob)
        response = _request(client, method, url)
        if role == "bob":
            _assert_bob(route.kind, response, url, method)
        else:
            _assert_anonymous(route.kind, response, url, method)
        _assert_no_passthrough(response, url, method)


def test_another_seller_sees_only_their_own_alerts_secret(client, bob, alice_data):
    client.force_login(bob)

    body = client.get("/dashboard/alerts/secret/").content.decode()
    page = client.get("/dashboard/alerts/").content.decode()

    bobs = alert_endpoint_get_or_create(seller_id=bob.pk).signing_secret
    assert bobs in body
    assert alice_data["alerts_secret"] not in body + page
    assert f"whsec_••••••••{bobs[-4:]}" in page
    assert alice_data["alert_id"] not in page


def test_another_sellers_test_alert_goes_to_their_own_url(
    client, bob, alice_data, seller_server, loopback
):
    client.force_login(bob)
    client.post("/dashboard/alerts/", {"url": seller_server.url("/bob")})

    client.post("/dashboard/alerts/test/")

    assert len(seller_server.requests_to("/bob")) == 1


def test_a_purchase_link_shows_only_its_own_address_orders(client, bob, alice_data):
    """bob's link lists bob's purchases: none of alice's customer's."""
    from orders.purchases import purchases_link_token

    order = alice_data["order"]
    theirs = purchases_link_token(email=CUSTOMER_EMAIL)
    bobs = purchases_link_token(email=bob.email)

    control = client.get(reverse("purchases:list", args=[theirs])).content.decode()
    body = client.get(reverse("purchases:list", args=[bobs])).content.decode()

    assert order.token in control  # the control: her customer's link lists it
    assert order.token not in body
    assert PRODUCT_NAME not in body and CUSTOMER_EMAIL not in body
    _assert_no_passthrough(
        client.get(reverse("purchases:list", args=[theirs])), "", "get"
    )


def test_another_seller_cannot_switch_alices_key_list_fallback(client, bob, alice_data):
    """The Webhook Editor's fallback section: bob's post is a 404 and changes
    nothing of alice's list."""
    from keylists.models import KeyList
    from keylists.services import key_list_fallback_save

    product = alice_data["product"]
    key_list_fallback_save(product_id=product.pk, enabled=True, minutes=10)
    client.force_login(bob)

    response = client.post(
        reverse("fulfillment:config-edit", args=[product.pk]),
        {"fallback-minutes": "1", "url": "https://bob.example.com/"},
    )

    assert response.status_code == 404
    key_list = KeyList.objects.get(product=product)
    assert (key_list.fallback_enabled, key_list.fallback_after_minutes) == (True, 10)


def test_another_seller_filtering_served_from_list_sees_none_of_alices(
    client, bob, alice_data
):
    from tests.fulfillment.fallback import fallback_on, served_by_fallback

    fallback_on(alice_data["product"], "ALICE-SPARE-1")
    served = served_by_fallback(alice_data["product"], email="spare@example.com")
    client.force_login(bob)

    response = client.get(
        reverse("orders:seller-orders"), {"status": "served_from_list"}
    )

    assert list(response.context["orders"]) == []
    body = response.content.decode()
    assert served.order.transaction_id not in body and "ALICE-SPARE-1" not in body
