"""XSS corpus: seller Markdown never becomes anything executable, anywhere it shows.

Every payload of `PAYLOADS` goes in through each seller-controlled source:

* **instructions**: `WebhookConfig.instructions`, as saved by the Webhook Editor;
* **response**: the `response_text` of a succeeded delivery of a real order
  (`order_place` on a live product, the delivery marked succeeded with an
  `update()` as the delivery engine does, then `order_fulfillment_refresh`);
* **license_list**: the first license of a list answer (Response format JSON or
  one per line, Separate Multibuy off): the delivery's `licenses`, shown as
  "License 1 of 3" beside two harmless ones;

and comes out of four places, each fetched through the app itself:

* **email**: the HTML part of `order_email_build`;
* **order_page**: the customer's `GET /orders/<token>/`;
* **dashboard**: for instructions, the Webhook Editor's "Preview of the saved
  Instructions" (GET as the owner, alice); for a response, the seller's delivery
  detail page, which is where the dashboard shows a response;
* **admin**: Django admin as staff (charlie): the WebhookConfig change page for
  instructions, the Delivery change page (read-only `response_text`) for a response.

How "contains nothing executable" is judged. Whole pages legitimately contain the
app's own markup (admin's `<script src>` tags, the email's `style=` attributes,
the editor's `<form>`), so each output is checked twice, with the standard
library's `html.parser` (a browser-like tokenizer that unescapes attributes):

1. **The rendered fragment, strictly.** The fragment is found by the app's own
   container (`div.rendered`, `div.license`, `section.instructions`, admin's
   `div.field-response_text` / `div.field-instructions`, the delivery page's
   license `<pre>`; for the email, the whole document minus the app's one
   "View your order" link). Inside it: no element outside the rendering
   allowlist (so no script, iframe, object, embed, svg, style, form, meta, base
   or img), no attribute but `href`/`title`/`rel` on `<a>` (so no `on*`, no
   `style`), no href/src/action whose value, after unescaping and removing
   whitespace and control characters, starts with `javascript:`, `vbscript:` or
   `data:`, and every `<a>` carries `rel="nofollow noopener noreferrer"`. The
   marker word typed next to the payload must still be visible text there.
2. **The whole page, differentially.** A payload that closed the container
   early (`</div>`) would escape check 1, so every executable finding on the
   whole page (forbidden element, `on*` attribute, dangerous URL) is compared
   with the same page rendered for a harmless text: the payload may not add one.

Images are not in the allowlist, so Markdown images (even https ones, which
would track the customer when the email is opened) are dropped entirely.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils.html import escape

from downloads.services import filename_clean
from emails.build import order_email_build, order_url
from fulfillment.models import Delivery, WebhookConfig
from fulfillment.services.loading import order_email_load
from fulfillment.services.orders import order_fulfillment_refresh
from lib.rendering import ALLOWED_TAGS, LINK_REL
from tests.factories import add_file, place
from web.orders.forms import passthrough_problem

pytestmark = pytest.mark.django_db

MARKER = "XSSMARKERWORD"
HARMLESS = "Just a **plain** license."

PAYLOADS: dict[str, str] = {
    "script": "<script>alert(1)</script>",
    "script-upper": "<SCRIPT>alert(1)</SCRIPT>",
    "script-mixed-case": "<ScRiPt>alert(1)</sCrIpT>",
    "script-with-attributes": '<script type="text/javascript" src="//evil/x.js">'
    "</script>",
    "script-block-own-lines": "<script>\nalert(1)\n</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "img-onerror-unclosed": "<img src=x onerror=alert(1)",
    "svg-onload": "<svg onload=alert(1)>",
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "style-element": "<style>body{background:url(javascript:alert(1))}</style>",
    "style-attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "a-javascript": '<a href="javascript:alert(1)">x</a>',
    "a-target-blank": '<a href="https://evil.example/" target="_blank">x</a>',
    "md-link-javascript": "[x](javascript:alert(1))",
    "md-link-javascript-case": "[x](JaVaScRiPt:alert(1))",
    "md-link-javascript-tab-entity": "[x](java&#x09;script:alert(1))",
    "md-link-javascript-decimal-entity": "[x](&#106;avascript:alert(1))",
    "md-link-javascript-leading-space-entity": "[x](&#32;javascript:alert(1))",
    "md-link-data-base64": (
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"
    ),
    "md-link-vbscript": "[x](vbscript:msgbox(1))",
    "md-link-title-breaking-quotes": (
        '[x](https://ok.example/ "a\\" onmouseover=\\"alert(1))'
    ),
    "md-image-javascript": "![x](javascript:alert(1))",
    "md-image-https": "![x](https://evil.example/x.png)",
    "md-image-onerror-title": '![x](https://e.example/x.png "x\\" onerror=\\"alert(1))',
    "autolink-javascript": "<javascript:alert(1)>",
    "autolink-https": "<https://evil.example/>",
    "reference-link-javascript": "[x][evil]\n\n[evil]: javascript:alert(1)",
    "reference-link-data": (
        "[x][evil]\n\n[evil]: data:text/html,<script>alert(1)</script>"
    ),
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "form-action": '<form action="javascript:alert(1)"><button>x</button></form>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base-href": '<base href="javascript:alert(1)//">',
    "html-comment": "<!-- <script>alert(1)</script> -->",
    "cdata": "<![CDATA[<script>alert(1)</script>]]>",
    "attribute-quote-break": '" onmouseover="alert(1)" x="',
    "backticks": (
        "`<img src=x onerror=alert(1)>` and ``<script>`` "
        "```\n<svg onload=alert(1)>\n```"
    ),
    # NUL itself never reaches storage (the editor's form refuses it, and an answer
    # containing it is not text: see test_faults.py); test_rendering.py covers it.
    "control-char": "<scr\x01ipt>alert(1)</script> [x](java\x01script:alert(1))",
    "nested-script": "<scr<script>ipt>alert(1)</script>",
    "double-encoded": (
        "&lt;script&gt;alert(1)&lt;/script&gt; "
        "&amp;lt;img src=x onerror=alert(1)&amp;gt;"
    ),
    "md-link-text-is-html": "[<img src=x onerror=alert(1)>](https://ok.example/)",
    "md-emphasis-wrapped-html": "**<svg onload=alert(1)>**",
}

SOURCES = ("instructions", "response", "license_list")
OUTPUTS = ("email", "order_page", "dashboard", "admin")

# Elements that run code, load active content, or restyle/retarget the page.
FORBIDDEN_TAGS = frozenset(
    {"script", "iframe", "object", "embed", "svg", "math", "style", "form", "meta",
     "base", "link", "frame", "frameset", "applet", "img"}
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "data", "xlink:href", "background",
     "poster", "srcset", "content"}
)  # fmt: skip
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
     "source", "track", "wbr"}
)  # fmt: skip
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _normalise_url(value: str) -> str:
    # html.parser already unescapes attribute values; a second unescape catches
    # the doubly-encoded form a lenient consumer might decode again.
    return _IGNORED_IN_SCHEME.sub("", html.unescape(value)).lower()


class Element:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]], scoped: bool):
        self.tag = tag
        self.attrs = {name: value or "" for name, value in attrs}
        self.scoped = scoped


class Collector(HTMLParser):
    """Every element of a document; those inside a `scope` element are marked.

    `scope(element, ancestors)` names the app's containers of seller content; the
    containers themselves are not marked.
    """

    def __init__(self, scope: Callable[[Element], bool]):
        super().__init__(convert_charrefs=True)
        self.scope = scope
        self.elements: list[Element] = []
        self.scoped_text: list[str] = []
        self._stack: list[tuple[Element, bool]] = []  # (open element, opens a scope)

    @property
    def _inside(self) -> bool:
        return any(opens for _, opens in self._stack)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self._inside)
        self.elements.append(element)
        ancestors = [open_element for open_element, _ in self._stack]
        opens = not element.scoped and self.scope(element, ancestors)
        if tag not in VOID_TAGS:
            self._stack.append((element, opens))

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, attrs, self._inside))

    def handle_endtag(self, tag):
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0].tag == tag:
                del self._stack[index:]
                return

    def handle_data(self, data):
        if self._inside:
            self.scoped_text.append(data)


def _executable(element: Element) -> list[str]:
    """What makes one element able to run code, whatever its context."""
    found = []
    if element.tag in FORBIDDEN_TAGS:
        found.append(f"<{element.tag}> element")
    for name, value in element.attrs.items():
        if name.startswith("on"):
            found.append(f"{name}= on <{element.tag}>")
        if name in URL_ATTRIBUTES and _normalise_url(value).startswith(
            DANGEROUS_SCHEMES
        ):
            found.append(f"{name}={value!r} on <{element.tag}>")
    return found


def _fragment_violations(element: Element) -> list[str]:
    """Stricter rules for the seller's rendered Markdown."""
    found = _executable(element)
    if element.tag not in ALLOWED_TAGS:
        found.append(f"<{element.tag}> outside the allowlist")
    allowed_attrs = {"href", "title", "rel"} if element.tag == "a" else set()
    found += [
        f"{name}= on <{element.tag}>"
        for name in element.attrs
        if name not in allowed_attrs
    ]
    if element.tag == "a" and not set(LINK_REL.split()) <= set(
        element.attrs.get("rel", "").split()
    ):
        found.append(f"<a> without rel={LINK_REL!r}: {element.attrs}")
    return found


def _classes(element: Element) -> set[str]:
    return set(element.attrs.get("class", "").split())


def _check(document: str, baseline: str, scope, *, exempt=lambda e: False) -> None:
    page = Collector(scope)
    page.feed(document)
    page.close()
    scoped = [e for e in page.elements if e.scoped and not exempt(e)]
    assert MARKER in " ".join(page.scoped_text), "the marker word must stay visible"
    violations = [v for element in scoped for v in _fragment_violations(element)]
    assert violations == []

    before = Collector(scope)
    before.feed(baseline)
    before.close()
    added = Counter(v for e in page.elements for v in _executable(e))
    added.subtract(v for e in before.elements for v in _executable(e))
    assert +added == Counter(), "the payload added executable markup to the page"


def _source_text(source: str, payload: str) -> str:
    # Harmless text on both sides: it must survive whatever the payload does.
    if source == "instructions":
        return f"Open **Settings** {MARKER}.\n\n{payload}\n\nThanks!"
    return f"LICENSE-{MARKER}-1234\n{payload}"


@pytest.fixture
def order(live_product):
    order = place(live_product, email="ada@example.com")
    Delivery.objects.filter(order=order).update(status="succeeded", response_text="x")
    return order_fulfillment_refresh(order_id=order.pk)


def _store(order, source: str, text: str) -> None:
    """Put the seller's text where the app keeps it (responses and Instructions
    are plain model fields, written as the engine and the editor write them;
    a license list as the engine keeps a JSON answer: the answer and its list)."""
    if source == "instructions":
        WebhookConfig.objects.filter(product=order.product).update(instructions=text)
    elif source == "license_list":
        licenses = [text, f"KEY-{MARKER}-2", "KEY-3"]
        Delivery.objects.filter(order=order).update(
            quantity=3,
            response_text=json.dumps({"licenses": licenses}),
            licenses=licenses,
        )
    else:
        Delivery.objects.filter(order=order).update(response_text=text)


def _email(order, client, source):
    # Read back as the email task reads it: the order and its deliveries' answers.
    loaded, licenses = order_email_load(order.pk)
    message = order_email_build(order=loaded, licenses=licenses)
    [(document, _mimetype)] = message.alternatives
    return document


def _order_page(order, client, source):
    response = client.get(reverse("orders:order", args=[order.token]))
    assert response.status_code == 200
    return response.content.decode()


def _dashboard(order, client, source):
    if source == "instructions":
        url = reverse("fulfillment:config-edit", args=[order.product.pk])
    else:
        delivery = order.deliveries.get()
        url = reverse(
            "fulfillment:delivery-detail",
            args=[order.product.pk, delivery.delivery_id],
        )
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _admin(order, client, source):
    if source == "instructions":
        config = order.product.webhook_config
        url = reverse("admin:fulfillment_webhookconfig_change", args=[config.pk])
    else:
        delivery = order.deliveries.get()
        url = reverse("admin:fulfillment_delivery_change", args=[delivery.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


FETCH = {
    "email": _email,
    "order_page": _order_page,
    "dashboard": _dashboard,
    "admin": _admin,
}


def _scope(output: str, source: str, order) -> Callable[[Element], bool]:
    if output == "email":
        return lambda e, ancestors: e.tag == "body"
    if output == "order_page":
        wanted = "instructions" if source == "instructions" else "license"
        return lambda e, ancestors: wanted in _classes(e)
    if output == "dashboard" and source == "instructions":
        return lambda e, ancestors: "rendered" in _classes(e)
    if output == "dashboard":
        # The delivery page shows the license in a <pre> of its first card (no
        # attempts exist here, so it is the page's only <pre>).
        return lambda e, ancestors: e.tag == "pre"
    # Admin shows a read-only field as `div.readonly` inside `div.field-<name>`.
    field = (
        "field-instructions_rendered"
        if source == "instructions"
        else "field-response_rendered"
    )
    return lambda e, ancestors: (
        "readonly" in _classes(e) and any(field in _classes(a) for a in ancestors)
    )


def _exempt(output: str, order) -> Callable[[Element], bool]:
    if output == "email":
        # The app's own markup in the email: its layout and "View your order".
        own = order_url(order)
        return lambda e: (
            (e.tag in {"div", "strong", "p", "h2"} and "style" in e.attrs)
            or (e.tag == "a" and e.attrs.get("href") == own)
        )
    return lambda e: False


def _client_for(output: str, client, alice, charlie):
    if output == "dashboard":
        client.force_login(alice)
    elif output == "admin":
        client.force_login(charlie)
    return client


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_renders_nothing_executable(
    payload, source, output, order, client, alice, charlie
):
    client = _client_for(output, client, alice, charlie)
    fetch = FETCH[output]
    _store(order, source, _source_text(source, HARMLESS))
    baseline = fetch(order, client, source)
    _store(order, source, _source_text(source, payload))

    document = fetch(order, client, source)

    _check(
        document,
        baseline,
        _scope(output, source, order),
        exempt=_exempt(output, order),
    )


def test_corpus_is_large_enough():
    assert len(PAYLOADS) >= 30


@pytest.mark.parametrize(
    "document",
    [
        '<div class="rendered"><script>x</script>' + MARKER + "</div>",
        '<div class="rendered"><a href="java&#x09;script:x">' + MARKER + "</a></div>",
        '<div class="rendered"><a href="https://x" rel="nofollow">'
        + MARKER
        + "</a></div>",
        '<div class="rendered"><p onclick="x">' + MARKER + "</p></div>",
        '<div class="rendered"><img src="https://x/p.gif">' + MARKER + "</div>",
        '<div class="rendered"><a href="https://x" rel="me">' + MARKER + "</a></div>",
        '<div class="rendered"><p>x</p></div>',
    ],
    ids=[
        "script",
        "tab-in-scheme",
        "weak-rel",
        "event-handler",
        "image",
        "other-rel",
        "marker-lost",
    ],
)
def test_checker_catches_what_it_must(document):
    # The corpus passing means something only if the checker can fail.
    with pytest.raises(AssertionError):
        _check(document, "", lambda e, ancestors: "rendered" in _classes(e))


def test_checker_catches_markup_escaping_the_fragment():
    document = '<div class="rendered">' + MARKER + "</div></div><svg onload=x>"

    with pytest.raises(AssertionError):
        _check(document, "<div></div>", lambda e, ancestors: "rendered" in _classes(e))


# --- passthrough: the seller's data from the buyer's browser -------------------
#
# Plain text, never Markdown: it comes from a URL anyone can edit
# (`/p/<slug>/?passthrough=…`) and shows in the product page's form (a hidden
# input's value), on the seller's order page and on the order's admin page. Each
# must hold it as text exactly, inside its container, and add no executable
# markup to the page. The customer's pages and emails never show it.

# Every corpus payload a link can carry (control characters are refused at the
# door: tests/web/orders/test_checkout_passthrough.py), and attacks on the
# places plain text lands in: an attribute value and a <code><bdi> element.
PASSTHROUGH_PAYLOADS: dict[str, str] = {
    **{
        name: payload
        for name, payload in PAYLOADS.items()
        if passthrough_problem(payload) is None
    },
    "attribute-double-quote": '"><script>alert(1)</script>',
    "attribute-single-quote": "' autofocus onfocus='alert(1)",
    "attribute-unquoted": "x onfocus=alert(1) autofocus",
    "close-the-containers": "</bdi></code></dd></dl><script>alert(1)</script>",
    "close-the-textarea": "</textarea><script>alert(1)</script>",
    "entity-smuggled": "&#60;script&#62;alert(1)&#60;/script&#62;",
    "bidi-override": "\u202egnp.exe",
    "template-syntax": "{{ request.user }}{% debug %}",
    "javascript-url": "javascript:alert(1)",
}
HARMLESS_PASSTHROUGH = "acct_42"
PASSTHROUGH_OUTPUTS = ("product_page", "checkout_error", "dashboard", "admin")


class _PlainText(Collector):
    """The scoped text joined as the browser shows it, with no separator."""

    @property
    def text(self) -> str:
        return "".join(self.scoped_text)


def _passthrough_product_page(client, value: str, live_product) -> str:
    response = client.get(f"/p/{live_product.slug}/", {"passthrough": value})
    assert response.status_code == 200
    return response.content.decode()


def _passthrough_checkout_error(client, value: str, live_product) -> str:
    # The form shown again after another field's error carries it again.
    response = client.post(
        reverse("orders:checkout", args=[live_product.slug]),
        {"customer_email": "not-an-email", "quantity": 1, "passthrough": value},
    )
    assert response.status_code == 200
    return response.content.decode()


def _passthrough_order(live_product, value: str):
    order = place(live_product, email="ada@example.com", passthrough=value)
    Delivery.objects.filter(order=order).update(status="succeeded", response_text="K")
    return order_fulfillment_refresh(order_id=order.pk)


def _passthrough_seller_page(client, order) -> str:
    response = client.get(reverse("orders:seller-order", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _passthrough_admin_page(client, order) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _passthrough_fetch(output, client, value, live_product) -> str:
    if output == "product_page":
        return _passthrough_product_page(client, value, live_product)
    if output == "checkout_error":
        return _passthrough_checkout_error(client, value, live_product)
    order = _passthrough_order(live_product, value)
    if output == "dashboard":
        return _passthrough_seller_page(client, order)
    return _passthrough_admin_page(client, order)


def _hidden_passthrough(document: str) -> list[Element]:
    page = Collector(lambda e, ancestors: False)
    page.feed(document)
    page.close()
    return [e for e in page.elements if e.attrs.get("name") == "passthrough"]


def _check_passthrough_input(document: str, value: str) -> None:
    """The form's one hidden input holds the value, and nothing else of it."""
    found = _hidden_passthrough(document)
    assert len(found) == 1
    [element] = found
    assert element.tag == "input"
    assert set(element.attrs) <= {"type", "name", "value", "id"}
    assert element.attrs["type"] == "hidden"
    assert element.attrs["value"] == value


def _check_passthrough_text(document: str, output: str, value: str) -> None:
    """The container holds exactly the value as text, in the app's own markup."""
    if output == "dashboard":

        def scope(e, ancestors):
            return e.attrs.get("id") == "passthrough"

        own = {"code", "bdi"}
    else:

        def scope(e, ancestors):
            return "readonly" in _classes(e) and any(
                "field-passthrough" in _classes(a) for a in ancestors
            )

        own = set()
    page = _PlainText(scope)
    page.feed(document)
    page.close()
    assert page.text == value
    scoped = [e for e in page.elements if e.scoped]
    assert [e.tag for e in scoped if e.tag not in own] == []
    assert [v for e in scoped for v in _executable(e)] == []


def _no_executable_added(document: str, baseline: str) -> None:
    ignore = Collector(lambda e, ancestors: False)
    ignore.feed(document)
    ignore.close()
    before = Collector(lambda e, ancestors: False)
    before.feed(baseline)
    before.close()
    added = Counter(v for e in ignore.elements for v in _executable(e))
    added.subtract(v for e in before.elements for v in _executable(e))
    assert +added == Counter(), "the passthrough added executable markup"


@pytest.mark.parametrize("output", PASSTHROUGH_OUTPUTS)
@pytest.mark.parametrize(
    "payload", PASSTHROUGH_PAYLOADS.values(), ids=PASSTHROUGH_PAYLOADS.keys()
)
def test_a_hostile_passthrough_is_shown_as_text_only(
    payload, output, live_product, client, alice, charlie
):
    if output == "dashboard":
        client.force_login(alice)
    elif output == "admin":
        client.force_login(charlie)
    baseline = _passthrough_fetch(output, client, HARMLESS_PASSTHROUGH, live_product)

    document = _passthrough_fetch(output, client, payload, live_product)

    if output in ("product_page", "checkout_error"):
        _check_passthrough_input(document, payload)
    else:
        _check_passthrough_text(document, output, payload)
    _no_executable_added(document, baseline)


@pytest.mark.parametrize("output", ["email", "order_page"])
def test_a_passthrough_never_reaches_the_customer(output, live_product, client):
    marker = f"{MARKER}-passthrough"
    order = _passthrough_order(live_product, f"<b>{marker}</b>")

    document = FETCH[output](order, client, "response")

    assert marker not in document


def test_passthrough_corpus_is_large_enough():
    assert len(PASSTHROUGH_PAYLOADS) >= 40


@pytest.mark.parametrize(
    ("document", "output"),
    [
        ('<dd id="passthrough"><code><b>acct_42</b></code></dd>', "dashboard"),
        ('<dd id="passthrough"><code>acct_4</code></dd>', "dashboard"),
        ('<dd id="passthrough"><a onclick="x">acct_42</a></dd>', "dashboard"),
        (
            '<div class="field-passthrough"><div class="readonly"><i>acct_42</i>'
            "</div></div>",
            "admin",
        ),
    ],
    ids=["markup-inside", "text-changed", "handler-inside", "admin-markup"],
)
def test_the_passthrough_checker_catches_what_it_must(document, output):
    with pytest.raises(AssertionError):
        _check_passthrough_text(document, output, "acct_42")


@pytest.mark.parametrize(
    "document",
    [
        '<input type="hidden" name="passthrough" value="acct_4">',
        '<input type="hidden" name="passthrough" value="acct_42" onfocus="x">',
        '<input type="text" name="passthrough" value="acct_42">',
        '<input type="hidden" name="passthrough" value="acct_42">'
        '<input type="hidden" name="passthrough" value="acct_42">',
    ],
    ids=["value-changed", "handler", "not-hidden", "twice"],
)
def test_the_passthrough_input_checker_catches_what_it_must(document):
    with pytest.raises(AssertionError):
        _check_passthrough_input(document, "acct_42")


# --- After the sale: the reason of a refund or cancellation is text ---------------
# A seller, staff or a payment provider types it; it is shown to the seller and
# staff (never to the customer), escaped, on the order page, the confirmation
# page and admin. A reason is one line: the forms and the API refuse control
# characters, so the payloads' line breaks become spaces here.

REASON_OUTPUTS = ("order_page", "confirm_page", "admin")


def _reason(payload: str) -> str:
    return f"{MARKER} " + re.sub(r"[\x00-\x1f]", " ", payload)


def _refund_confirmed(client, order, reason: str):
    url = reverse("orders:seller-order-refund", args=[order.pk])
    data = {"amount": "1.00", "reason": reason}
    confirm = client.post(url, data)
    assert confirm.status_code == 200
    nonce = re.search(r'name="nonce" value="([^"]+)"', confirm.content.decode())
    assert nonce, "the confirmation page carries the form's nonce"
    client.post(url, {**data, "nonce": nonce.group(1), "confirmed": "1"})
    return confirm.content.decode()


def _reason_page(output: str, client, order, reason: str, charlie) -> str:
    confirm = _refund_confirmed(client, order, reason)
    if output == "confirm_page":
        return confirm
    if output == "admin":
        client.force_login(charlie)
        url = reverse("admin:orders_order_change", args=[order.pk])
    else:
        url = reverse("orders:seller-order", args=[order.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _reason_scope(output: str):
    wanted = "field-reason" if output == "admin" else "reason"
    return lambda e, ancestors: wanted in _classes(e)


@pytest.mark.parametrize("output", REASON_OUTPUTS)
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_hostile_reason_is_shown_as_text(
    payload, output, live_product, client, alice, charlie
):
    client.force_login(alice)
    harmless, hostile = place(live_product), place(live_product)
    baseline = _reason_page(output, client, harmless, _reason(HARMLESS), charlie)
    client.force_login(alice)

    document = _reason_page(output, client, hostile, _reason(payload), charlie)

    _check(document, baseline, _reason_scope(output))
    # Escaped, not dropped: the seller reads exactly what was typed.
    assert escape(_reason(payload).strip())[:40] in document


# --- Alerts: the seller's server's answers on the Alerts pages -----------------


def _alert_answered(seller, seller_server, route) -> str:
    """An alert of alice's, attempted once against `route`; its ID."""
    import secrets

    from django.db import transaction

    from fulfillment.services.alert_engine import alert_attempt
    from fulfillment.services.alerts import (
        alert_emit,
        alert_endpoint_get_or_create,
        alert_endpoint_save,
    )

    seller_server.set_route("/alerts", route)
    endpoint = alert_endpoint_get_or_create(seller_id=seller.pk)
    url = seller_server.url("/alerts")
    alert_endpoint_save(endpoint=endpoint, url=url, events=["order.completed"])
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=seller.pk,
            type="order.completed",
            subject=f"xss:{secrets.token_hex(8)}",
            data={},
        )
    assert alert_id is not None
    alert_attempt(alert_id=alert_id)
    return alert_id


def _alert_page(client, seller, seller_server, route) -> str:
    alert_id = _alert_answered(seller, seller_server, route)
    response = client.get(reverse("alerts:detail", args=[alert_id]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_alert_answer_is_shown_as_text(
    payload, alice_client, alice, seller_server, loopback
):
    from tests.httpserver import Route

    def answer(text: str) -> Route:
        return Route(status=500, body=f"{MARKER} {text}", content_type="text/html")

    baseline = _alert_page(alice_client, alice, seller_server, answer(HARMLESS))
    document = _alert_page(alice_client, alice, seller_server, answer(payload))

    _check(document, baseline, lambda e, ancestors: e.tag == "pre")
    assert escape(payload) in document  # shown, as text


def test_a_hostile_redirect_target_is_shown_as_text_in_the_alert_log(
    alice_client, alice, seller_server, loopback
):
    from tests.httpserver import Route

    hostile = f'/x"><script>alert(1)</script>{MARKER}'
    _alert_answered(alice, seller_server, Route.redirect(hostile))

    page = alice_client.get(reverse("alerts:edit")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert escape(hostile) in page


# --- "Find my purchase": product names and the address, as text ---------------
# A seller names the product; a buyer (or a payment provider) types the address,
# which may legally hold a quoted `<script>`. Both show on the emailed link's
# list page, and the names in the email itself, escaped.

PURCHASE_OUTPUTS = ("list_page", "email")
HOSTILE_ADDRESSES = {
    "quoted-script": f'"{MARKER}<script>alert(1)</script>"@example.com',
    # Spaces in a quoted local part are escaped ("\ "), as RFC 5321 asks.
    "quoted-img": f'"{MARKER}<img\\ src=x\\ onerror=alert(1)>"@example.com',
    "quoted-attribute-break": (f'"{MARKER}\\"\\ onmouseover=\\"alert(1)"@example.com'),
    "atom-specials": f"{MARKER}'&{{x}}/=?@example.com",
}


def _purchases_document(output: str, client, mailoutbox, *, name: str, email: str):
    from emails.purchases import purchases_link_email_send
    from orders.purchases import purchases_link_token
    from tests.factories import LiveProductFactory

    place(LiveProductFactory(name=name[:200]), email=email)
    if output == "email":
        mailoutbox.clear()
        assert purchases_link_email_send(email=email) == 1
        [(document, _)] = mailoutbox[-1].alternatives
        return document
    token = purchases_link_token(email=email)
    response = client.get(reverse("purchases:list", args=[token]))
    assert response.status_code == 200
    return response.content.decode()


def _purchases_scope(output: str):
    if output == "email":
        return lambda e, ancestors: e.tag == "li"
    shown = {"purchase-product", "purchases-email"}
    return lambda e, ancestors: bool(_classes(e) & shown)


@pytest.mark.parametrize("output", PURCHASE_OUTPUTS)
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_hostile_product_name_is_shown_as_text_in_purchases(
    payload, output, client, mailoutbox
):
    kwargs = {"client": client, "mailoutbox": mailoutbox}
    baseline = _purchases_document(
        output, **kwargs, name=f"{MARKER} {HARMLESS}", email="base@example.com"
    )
    name = f"{MARKER} {payload}"
    document = _purchases_document(
        output, **kwargs, name=name, email="hostile@example.com"
    )

    _check(document, baseline, _purchases_scope(output))
    assert escape(name[:200]) in document  # shown, as text


@pytest.mark.parametrize("email", HOSTILE_ADDRESSES.values(), ids=HOSTILE_ADDRESSES)
def test_a_hostile_address_is_shown_as_text_on_the_purchases_page(
    email, client, mailoutbox
):
    kwargs = {"client": client, "mailoutbox": mailoutbox, "name": f"{MARKER} app"}
    baseline = _purchases_document("list_page", **kwargs, email="base@example.com")
    document = _purchases_document("list_page", **kwargs, email=email)

    _check(document, baseline, _purchases_scope("list_page"))
    assert escape(email.lower()) in document


# --- A product file's name: the seller's upload, shown to customers ------------
#
# Plain text, never Markdown: whatever name the seller's browser sent, cleaned by
# the upload (its last path segment, no control or format characters). It shows
# on the customer's order page and in the order email, on the seller's Files,
# product and order pages, in the email preview and in admin; each must hold it
# as escaped text and add no executable markup to the page.

# The corpus payloads a file name can carry unchanged (a "/" or "\\" starts a
# new path segment, which the upload drops), and attacks on attribute values.
FILENAME_PAYLOADS: dict[str, str] = {
    **{
        name: payload
        for name, payload in PASSTHROUGH_PAYLOADS.items()
        if filename_clean(payload) == payload
    },
    "attribute-break-download": '" download="evil.exe" onclick="alert(1)',
    "entity-in-name": "&lt;script&gt;alert(1).zip",
    "markdown-link": "[x](javascript:alert(1)).zip",
}
HARMLESS_FILENAME = "pixel-editor.zip"
FILENAME_OUTPUTS = (
    "order_page",
    "email",
    "files_page",
    "product_page",
    "seller_order",
    "email_preview",
    "admin_product",
    "admin_order",
)


def _with_file(order, name: str) -> str:
    """The order's product with one file of this name, downloaded once by the
    order (so the counts show it too); its cleaned name."""
    from downloads.models import ProductFile
    from downloads.services import download_count

    ProductFile.objects.filter(product=order.product).delete()
    file = add_file(order.product, name=name)
    download_count(order_id=order.pk, file_id=file.pk)
    return file.filename


def _filename_page(output: str, client, order) -> str:
    product = order.product
    if output == "email":
        loaded, licenses = order_email_load(order.pk)
        [(document, _)] = order_email_build(
            order=loaded, licenses=licenses
        ).alternatives
        return document
    url = {
        "order_page": reverse("orders:order", args=[order.token]),
        "files_page": reverse("downloads:files", args=[product.pk]),
        "product_page": reverse("products:detail", args=[product.pk]),
        "seller_order": reverse("orders:seller-order", args=[order.pk]),
        "email_preview": reverse("products:email-preview", args=[product.pk]),
        "admin_product": reverse("admin:products_product_change", args=[product.pk]),
        "admin_order": reverse("admin:orders_order_change", args=[order.pk]),
    }[output]
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- Keys from the list: a key the fallback sent, wherever it shows ------------

KEY_OUTPUTS = ("delivery_page", "seller_order_page", "order_page", "email")


def _hostile_key(payload: str) -> str:
    """The payload as a list would hold it: one line, no control characters
    (license_keys_add refuses those), within the key's length."""
    return f"{MARKER} " + re.sub(r"[\x00-\x1f\x7f]", " ", payload).strip()[:480]


def _served_with_key(product, key: str, email: str):
    from keylists.services import license_keys_add
    from tests.fulfillment.fallback import served_by_fallback

    license_keys_add(product_id=product.pk, text=key)
    return served_by_fallback(product, email=email).order


def _key_document(output: str, order, client) -> str:
    if output == "email":
        return _email(order, client, "response")
    if output == "order_page":
        return _order_page(order, client, "response")
    if output == "seller_order_page":
        url = reverse("orders:seller-order", args=[order.pk])
    else:
        url = reverse(
            "fulfillment:delivery-detail",
            args=[order.product.pk, order.deliveries.get().delivery_id],
        )
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.usefixtures("downloads_storage")
@pytest.mark.parametrize("output", FILENAME_OUTPUTS)
@pytest.mark.parametrize(
    "payload", FILENAME_PAYLOADS.values(), ids=FILENAME_PAYLOADS.keys()
)
def test_a_hostile_file_name_is_shown_as_text_only(
    payload, output, order, client, alice, charlie
):
    client.force_login(charlie if output.startswith("admin") else alice)
    _with_file(order, HARMLESS_FILENAME)
    baseline = _filename_page(output, client, order)

    shown = _with_file(order, payload)
    document = _filename_page(output, client, order)

    if output != "email_preview":  # there, inside the srcdoc attribute, twice
        assert escape(shown) in document
    _no_executable_added(document, baseline)


def test_the_file_name_corpus_is_large_enough():
    assert len(FILENAME_PAYLOADS) >= 20


def _key_scope(output: str):
    if output == "email":
        return lambda e, ancestors: e.tag == "body"
    if output == "order_page":
        return lambda e, ancestors: "license" in _classes(e)
    # The seller's pages list each key in a <code> of `ol.keys-sent`.
    return lambda e, ancestors: (
        e.tag == "code" and any("keys-sent" in _classes(a) for a in ancestors)
    )


@pytest.mark.parametrize("output", KEY_OUTPUTS)
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_hostile_key_from_the_list_is_shown_as_text(
    payload, output, live_product, client, alice
):
    from tests.fulfillment.fallback import fallback_on

    client.force_login(alice)
    fallback_on(live_product)
    harmless = _served_with_key(live_product, f"{MARKER}-PLAIN-KEY", "a@example.com")
    key = _hostile_key(payload)
    hostile = _served_with_key(live_product, key, "b@example.com")
    baseline = _key_document(output, harmless, client)

    document = _key_document(output, hostile, client)

    _check(document, baseline, _key_scope(output), exempt=_exempt(output, hostile))
    if output in ("delivery_page", "seller_order_page"):
        assert escape(key) in document  # exactly as listed, as text


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_hostile_fallback_delay_is_echoed_as_text(payload, alice_client, product):
    url = reverse("fulfillment:config-edit", args=[product.pk])
    config = product.webhook_config
    data = {
        "url": config.url,
        "method": config.method,
        "body_format": config.body_format,
        "instructions": config.instructions,
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
        "fallback-enabled": "on",
        "fallback-minutes": payload,
    }

    response = alice_client.post(url, data)

    assert response.status_code == 200
    assert response.context["fallback_form"].errors["minutes"]
    document = response.content.decode()
    stripped = payload.strip()
    if "<" in stripped:
        assert stripped not in document
