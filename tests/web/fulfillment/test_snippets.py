"""The Webhook Editor's verification snippets, run as real license servers.

Each snippet (Python, Node, PHP) for each request shape (GET, POST form, POST
JSON) is written to a temporary directory and started on 127.0.0.1 the way the
editor tells the seller to run it. Real signed requests then reach it through our
own code: test deliveries, orders, and `transport.send` for the requests no
delivery would make (a replay, an altered body).

Python runs the official `standardwebhooks` from the venv, Node the official npm
package pinned in tests/node (`npm ci --prefix tests/node`). PHP runs under
`php -S`, but with our own stand-in for the official package, which cannot be
installed here (tests/php/StandardWebhooks.php says why). Each server starts
once per module and serves every test of its language and shape. A missing
`node` or `php` skips those tests locally and fails them in CI (tests/tools.py).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test.html import Element, parse_html

from fulfillment.models import DeliveryStatus
from fulfillment.payload import (
    STANDARD_FIELDS,
    OrderFacts,
    OutboundRequest,
    alert_body,
    build_alert_request,
    build_fields,
    build_request,
)
from fulfillment.services import deliveries as services
from fulfillment.services.alert_engine import alert_test_send
from fulfillment.services.alerts import (
    alert_endpoint_get_or_create,
    alert_endpoint_save,
)
from fulfillment.services.config import webhook_config_secret_regenerate
from fulfillment.services.testing import MULTIBUY_QUANTITY, webhook_test_run
from lib import transport
from lib.ids import new_delivery_id, new_signing_secret
from tests.factories import CustomFieldFactory
from tests.tools import skip_or_fail
from web.fulfillment.snippets import Snippet, alert_snippets, verification_snippets
from web.orders.services import order_place

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
PHP_AUTOLOAD = ROOT / "tests" / "php" / "autoload.php"
LANGUAGES = ["python", "node", "php"]
SHAPES = [("GET", "form"), ("POST", "form"), ("POST", "json")]
# The secret every snippet server holds, as a seller pastes theirs into
# WEBHOOK_SECRET; the products under test sign with it.
SERVER_SECRET = new_signing_secret()
# Names a seller may choose that trip careless code: quotes inside a string
# literal, and a dot that PHP's parse_str() would turn into an underscore.
EMAIL_FIELD = 'buyer\'s "email"'
STATIC_FIELD = "plan.tier"
STATIC_VALUE = "gold & more"
TEST_MARK = "_Test delivery: these keys are samples._"
KEY_LINE = "**License key:** `"
LOOPBACK = ["127.0.0.0/8"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"`{name}` is not on PATH ({hint})")
    return path


def _node() -> str:
    path = _tool("node", "install Node.js 18 or later")
    if not (NODE_MODULES / "standardwebhooks").is_dir():
        skip_or_fail(
            "tests/node/node_modules is missing (`npm ci --prefix tests/node`)"
        )
    return path


def _php() -> str:
    return _tool("php", "apt-get install php-cli")


def _require_tool(language: str) -> None:
    """Skip (or, in CI, fail) before anything is written for a missing tool."""
    if language == "node":
        _node()
    elif language == "php":
        _php()


def _command(snippet: Snippet, workdir: Path, port: int) -> list[str]:
    """How the editor tells the seller to run it, with the library in place."""
    if snippet.language == "python":
        return [sys.executable, snippet.filename]
    if snippet.language == "node":
        node = _node()
        (workdir / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
        return [node, snippet.filename]
    php = _php()
    (workdir / "vendor").mkdir()
    # Composer's autoloader, replaced by the stand-in (tests/php/autoload.php).
    path = str(PHP_AUTOLOAD).replace("\\", "\\\\").replace("'", "\\'")
    (workdir / "vendor" / "autoload.php").write_text(f"<?php\nrequire '{path}';\n")
    return [php, "-S", f"127.0.0.1:{port}", snippet.filename]


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The snippet server exited:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"The snippet server did not listen within 10 s:\n{log.read_text()}")


class SnippetServers:
    """Each distinct snippet runs once, in its own directory, until the module ends."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.urls: dict[tuple[str, str], str] = {}
        self.processes: list[subprocess.Popen] = []

    def url_for(self, snippet: Snippet) -> str:
        key = (snippet.language, snippet.code)
        if key not in self.urls:
            self.urls[key] = self._start(snippet)
        return self.urls[key]

    def _start(self, snippet: Snippet) -> str:
        # The tool check comes first: a skipped language must leave nothing
        # behind, and each folder gets a name of its own whatever was skipped.
        _require_tool(snippet.language)
        workdir = Path(tempfile.mkdtemp(prefix=f"{snippet.language}-", dir=self.root))
        (workdir / snippet.filename).write_text(snippet.code)
        port = free_port()
        command = _command(snippet, workdir, port)
        log = workdir / "server.log"
        # TMPDIR: where the PHP snippet keeps the licenses it issued.
        env = {**os.environ, "WEBHOOK_SECRET": SERVER_SECRET, "PORT": str(port)}
        env["TMPDIR"] = str(workdir)
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=output, stderr=output
            )
        self.processes.append(process)
        _wait_until_listening(port, process, log)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    running = SnippetServers(tmp_path_factory.mktemp("snippets"))
    yield running
    running.stop()


def _add_custom_fields(config) -> None:
    CustomFieldFactory(config=config, kind="customer_email", name=EMAIL_FIELD)
    CustomFieldFactory(
        config=config, kind="static", name=STATIC_FIELD, value=STATIC_VALUE
    )


@pytest.fixture(
    params=[(lang, *shape) for lang in LANGUAGES for shape in SHAPES],
    ids=[f"{lang}-{m}-{f}" for lang in LANGUAGES for m, f in SHAPES],
)
def served(request, product, servers, fulfillment_settings):
    """alice's live product, its Webhook URL pointing at its own snippet's server."""
    language, method, body_format = request.param
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=LOOPBACK, TOTAL_TIMEOUT=5.0)
    config = product.webhook_config
    config.method, config.body_format = method, body_format
    config.signing_secret = SERVER_SECRET
    _add_custom_fields(config)
    snippet = next(s for s in verification_snippets(config) if s.language == language)
    # The seller's own query parameter comes first in a GET's signed query string.
    config.url = servers.url_for(snippet) + "/license?edition=pro"
    config.save()
    product.status = "live"
    product.save()
    return product


def _facts(product) -> OrderFacts:
    return OrderFacts(
        order_id="ord_1",
        transaction_id="txn_1",
        checkout_hash="chk_1",
        customer_email="dana@example.com",
        customer_name="",
        product_id=product.pk,
        product_name=product.name,
        quantity=2,
        unit_price="19.00",
        currency="USD",
        event_time=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def _signed(product, *, delivery_id: str) -> OutboundRequest:
    """The request our code sends for this delivery ID (quantity 2), signed now."""
    config = product.webhook_config
    fields = build_fields(
        facts=_facts(product),
        delivery_id=delivery_id,
        quantity=2,
        item_index=1,
        item_count=1,
        custom_fields=list(config.custom_fields.all()),
    )
    return build_request(
        url=config.url,
        method=config.method,
        body_format=config.body_format,
        fields=fields,
        delivery_id=delivery_id,
        secrets=product.webhook_config.active_secrets(),
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/test",
    )


def _altered(request: OutboundRequest) -> OutboundRequest:
    """The same signed request with the quantity changed after signing."""
    if request.method == "GET":
        altered = replace(request, url=request.url.replace("quantity=2", "quantity=9"))
    elif request.headers["Content-Type"] == "application/json":
        altered = replace(
            request, body=request.body.replace(b'"quantity":2', b'"quantity":9')
        )
    else:
        altered = replace(
            request, body=request.body.replace(b"quantity=2", b"quantity=9")
        )
    assert altered != request
    return altered


def _send(request: OutboundRequest) -> transport.TransportResult:
    return transport.send(
        request,
        connect_timeout=2,
        total_timeout=5,
        max_bytes=64 * 1024,
        allowed_networks=LOOPBACK,
        require_https=False,
    )


# --- Run as servers ------------------------------------------------------------


def test_a_test_delivery_gets_the_snippets_license(served):
    delivery = services.delivery_test_send(product=served)

    text = delivery.response_text
    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.last_error
    assert text.count(KEY_LINE) == 1
    assert TEST_MARK in text
    assert f"{EMAIL_FIELD}: customer@example.com" in text
    assert f"{STATIC_FIELD}: {STATIC_VALUE}" in text


def test_an_order_gets_one_key_per_unit(served):
    order = order_place(product=served, quantity=3, customer_email="dana@example.com")
    delivery = order.deliveries.get()

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    text = delivery.response_text
    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.last_error
    assert text.count(KEY_LINE) == 3
    assert (TEST_MARK in text) is order.is_test
    assert f"{EMAIL_FIELD}: dana@example.com" in text


@pytest.fixture(
    params=[(lang, fmt) for lang in LANGUAGES for fmt in ("lines", "json")],
    ids=[f"{lang}-{fmt}" for lang in LANGUAGES for fmt in ("lines", "json")],
)
def served_list(request, product, servers, fulfillment_settings):
    """alice's live product answered by the snippet written for a list
    Response format ("One license per line" or JSON)."""
    language, response_format = request.param
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=LOOPBACK, TOTAL_TIMEOUT=5.0)
    config = product.webhook_config
    config.response_format = response_format
    config.signing_secret = SERVER_SECRET
    _add_custom_fields(config)
    snippet = next(s for s in verification_snippets(config) if s.language == language)
    config.url = servers.url_for(snippet) + "/license"
    config.save()
    product.status = "live"
    product.save()
    return product


def test_a_list_format_snippet_passes_the_test_request(served_list):
    run = webhook_test_run(product=served_list)

    assert run.succeeded, run.first_failure() and run.first_failure().last_error
    assert [len(d.license_texts) for d in run.deliveries] == [1, MULTIBUY_QUANTITY]


def test_a_list_format_snippet_answers_one_license_per_unit(served_list):
    order = order_place(
        product=served_list, quantity=3, customer_email="dana@example.com"
    )
    delivery = order.deliveries.get()

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.last_error
    assert len(set(delivery.license_texts)) == 3


def test_a_retry_with_the_same_webhook_id_gets_the_same_license(served):
    delivery_id = new_delivery_id()

    first = _send(_signed(served, delivery_id=delivery_id))
    retry = _send(_signed(served, delivery_id=delivery_id))
    other = _send(_signed(served, delivery_id=new_delivery_id()))

    assert first.status == 200, first.body
    assert first.body.decode().count(KEY_LINE) == 2
    assert retry.status == 200
    assert retry.body == first.body
    assert other.body != first.body


def test_another_secret_gets_401_and_the_delivery_fails(served):
    config = served.webhook_config
    config.signing_secret = new_signing_secret()  # not the one the server holds
    config.save()

    delivery = services.delivery_test_send(product=served)

    attempt = delivery.attempts.get()
    assert delivery.status != DeliveryStatus.SUCCEEDED
    assert attempt.response_status == 401
    assert attempt.response_body.startswith("Invalid signature")


def test_a_payload_altered_after_signing_gets_401(served):
    request = _signed(served, delivery_id=new_delivery_id())

    result = _send(_altered(request))

    assert result.status == 401
    assert result.body.decode().startswith("Invalid signature")


def test_during_a_rotation_the_server_with_the_old_secret_still_verifies(served):
    webhook_config_secret_regenerate(config=served.webhook_config)

    delivery = services.delivery_test_send(product=served)

    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.last_error


# --- The code itself ----------------------------------------------------------

# Names that would break out of a string literal, or out of PHP code if they
# ever reached a comment, if the snippet did not escape them.
HOSTILE_NAMES = ["it's \"q\" \\ \\'", "?> <?php echo 1; //", "a\nb", "${x} `y` */"]


def _config_with_names(product, names: list[str]):
    config = product.webhook_config
    for position, name in enumerate(names):
        CustomFieldFactory(config=config, name=name, position=position)
    return config


def _declared_names(snippet: Snippet) -> list[str]:
    """CUSTOM_FIELDS as the snippet's own language evaluates it."""
    code = snippet.code
    if snippet.language == "python":
        tree = ast.parse(code)
        (value,) = (
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and node.targets[0].id == "CUSTOM_FIELDS"
        )
        return ast.literal_eval(value)
    if snippet.language == "node":
        start = code.index("const CUSTOM_FIELDS")
        declaration = code[start : code.index("\n// webhook-id", start)]
        program = declaration + "\nprocess.stdout.write(JSON.stringify(CUSTOM_FIELDS));"
        result = subprocess.run(
            [_node(), "-e", program], capture_output=True, text=True, check=True
        )
        return json.loads(result.stdout)
    start = code.index("const CUSTOM_FIELDS")
    declaration = code[start : code.index("\n\nfunction answer", start)]
    program = declaration + "\necho json_encode(CUSTOM_FIELDS);"
    result = subprocess.run(
        [_php(), "-r", program], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def _compiles(snippet: Snippet, path: Path) -> None:
    path.write_text(snippet.code)
    if snippet.language == "python":
        compile(snippet.code, snippet.filename, "exec")
    elif snippet.language == "node":
        subprocess.run([_node(), "--check", str(path)], check=True)
    else:
        subprocess.run([_php(), "-l", str(path)], check=True, capture_output=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_custom_field_names_stay_inside_their_string_literals(
    product, tmp_path, language
):
    config = _config_with_names(product, HOSTILE_NAMES)
    snippet = next(s for s in verification_snippets(config) if s.language == language)

    _compiles(snippet, tmp_path / snippet.filename)
    assert _declared_names(snippet) == HOSTILE_NAMES


# --- The editor's partial -------------------------------------------------------


def _render(product, method: str = "POST", body_format: str = "form") -> str:
    config = product.webhook_config
    config.method, config.body_format = method, body_format
    config.save()
    _add_custom_fields(config)
    context = {"config": config, "snippets": verification_snippets(config)}
    return render_to_string("dashboard/_verify_snippets.html", context)


def test_the_partial_lists_every_standard_field_and_the_custom_ones(product):
    html = _render(product)

    for name in STANDARD_FIELDS:
        assert f"<code>{name}</code>" in html
    assert "<code>buyer&#x27;s &quot;email&quot;</code>" in html
    assert f"<code>{STATIC_FIELD}</code>" in html


def test_the_partial_shows_each_snippet_escaped_and_never_the_secret(product):
    html = _render(product)

    for filename in ("license_server.py", "license-server.js", "license.php"):
        assert f"<code>{filename}</code>" in html
    assert "&lt;?php" in html
    assert "<?php" not in html
    assert product.webhook_config.signing_secret not in html


@pytest.mark.parametrize(
    ("method", "names_content_type"), [("GET", False), ("POST", True)]
)
def test_the_partial_names_a_content_type_only_for_post(
    product, method, names_content_type
):
    html = _render(product, method=method)

    assert ("<code>Content-Type</code>" in html) is names_content_type


def _tags(node, name: str) -> list[Element]:
    found = []
    for child in getattr(node, "children", []):
        if isinstance(child, Element):
            if child.name == name:
                found.append(child)
            found.extend(_tags(child, name))
    return found


def test_the_partial_is_collapsed_with_a_plain_section_per_language(product):
    """As sent, before any script: every part is a closed <details>, and the
    examples are one section per language under its own heading (the tabs are
    static/js/tabs.js's work), so the page works without JavaScript."""
    page = parse_html(_render(product))

    parts = _tags(page, "details")
    assert [dict(d.attributes)["id"] for d in parts] == [
        "verify-headers",
        "verify-fields",
        "verify-answer",
        "verify-examples",
    ]
    assert not any("open" in dict(d.attributes) for d in parts)
    sections = [dict(s.attributes) for s in _tags(parts[-1], "section")]
    assert [s["data-tab"] for s in sections] == ["Python", "Node.js", "PHP"]
    assert [s["id"] for s in sections] == [
        "snippet-python",
        "snippet-node",
        "snippet-php",
    ]
    assert len(_tags(parts[-1], "h3")) == 3


# --- The Alerts page's receivers, run as servers ----------------------------------


@pytest.fixture(params=LANGUAGES)
def alerts_url(request, alice, servers, fulfillment_settings) -> str:
    """alice's Alerts URL points at the language's alerts snippet, which holds
    her Alerts signing secret."""
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=LOOPBACK, TOTAL_TIMEOUT=5.0)
    snippet = next(s for s in alert_snippets() if s.language == request.param)
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    endpoint.signing_secret = SERVER_SECRET
    endpoint.save()
    url = servers.url_for(snippet) + "/alerts"
    alert_endpoint_save(endpoint=endpoint, url=url, events=["order.completed"])
    return url


def _signed_alert(url: str, *, secret: str) -> OutboundRequest:
    body = alert_body(
        alert_type="order.completed",
        created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        data={"transaction_id": "txn_1"},
    )
    return build_alert_request(
        url=url,
        body=body,
        alert_id="evt_01TEST",
        secrets=[secret],
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/test",
    )


def test_the_alerts_snippet_accepts_a_test_alert(alice, alerts_url):
    alert = alert_test_send(seller_id=alice.pk)

    assert alert.status == DeliveryStatus.SUCCEEDED, alert.last_error


def test_the_alerts_snippet_refuses_an_alert_altered_after_signing(alerts_url):
    request = _signed_alert(alerts_url, secret=SERVER_SECRET)
    altered = replace(request, body=request.body.replace(b"txn_1", b"txn_2"))

    assert _send(request).status == 200
    assert _send(altered).status == 401


def test_the_alerts_snippet_refuses_another_secret(alerts_url):
    assert _send(_signed_alert(alerts_url, secret=new_signing_secret())).status == 401
