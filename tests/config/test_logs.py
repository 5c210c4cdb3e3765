"""JSON log lines carry the ids of what they are about, and never a secret."""

from __future__ import annotations

import json
import logging
import logging.config
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from config.logs import JsonFormatter, RedactPathsFilter, logging_config, redact_path
from fulfillment.services import deliveries as services
from tests.factories import place
from tests.httpserver import Route


def _json_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_json_line_has_time_level_logger_message_and_the_extras():
    record = logging.LogRecord(
        "fulfillment.test", logging.WARNING, __file__, 1, "Delivery %s failed",
        ("dlv_1",), None,
    )  # fmt: skip
    record.delivery_id, record.order_id, record.duration_ms = "dlv_1", 7, 12

    entry = json.loads(JsonFormatter().format(record))

    assert entry["level"] == "WARNING"
    assert entry["logger"] == "fulfillment.test"
    assert entry["message"] == "Delivery dlv_1 failed"
    assert entry["time"].endswith("+00:00")
    assert (entry["delivery_id"], entry["order_id"], entry["duration_ms"]) == (
        "dlv_1",
        7,
        12,
    )


def test_json_line_ignores_extras_it_does_not_know():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    record.signature = "v1,secret"

    assert "signature" not in json.loads(JsonFormatter().format(record))


def test_json_line_carries_the_traceback_of_an_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    entry = json.loads(JsonFormatter().format(record))

    assert "ValueError: boom" in entry["exception"]


@pytest.mark.django_db
def test_real_attempt_logs_json_lines_with_its_delivery_and_order(
    answering_product, caplog
):
    order = place(answering_product)
    delivery = order.deliveries.get()

    with caplog.at_level(logging.INFO):
        services.delivery_attempt(delivery_pk=delivery.pk)

    lines = _json_lines(caplog)
    request_line = next(line for line in lines if line["logger"].endswith("transport"))
    settle_line = next(
        line for line in lines if line["logger"].endswith("services.deliveries")
    )
    assert request_line["delivery_id"] == delivery.delivery_id
    assert request_line["status"] == 200
    assert isinstance(request_line["duration_ms"], int)
    assert settle_line["delivery_id"] == delivery.delivery_id
    assert settle_line["order_id"] == order.pk
    assert settle_line["status"] == "succeeded"
    assert settle_line["message"] == (
        f"Delivery {delivery.delivery_id} succeeded after attempt 1"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "says"),
    [
        (
            Route(status=500, body="oops"),
            "-> 500 in {ms} ms: failed (status; will retry)",
        ),
        (Route(close=True), "-> no answer in {ms} ms: failed (connect; will retry)"),
        (Route(), "-> 200 in {ms} ms: succeeded"),
    ],
    ids=["500", "no-answer", "200"],
)
def test_the_exchange_line_says_the_status_and_the_verdict_truthfully(
    answering_product, caplog, seller_server, route, says
):
    seller_server.set_route("/license", route)
    order = place(answering_product)

    with caplog.at_level(logging.INFO, logger="lib.transport"):
        services.delivery_attempt(delivery_pk=order.deliveries.get().pk)

    [record] = [r for r in caplog.records if r.name == "lib.transport"]
    url = f"http://127.0.0.1:{seller_server.port}/license"
    expected = f"webhook POST {url} " + says.format(ms=record.duration_ms)
    assert record.getMessage() == expected


@pytest.mark.django_db
def test_attempt_log_lines_carry_no_secret_and_no_customer_email(
    answering_product, caplog, seller_server
):
    order = place(answering_product, email="secret-buyer@example.com")
    config = answering_product.webhook_config

    with caplog.at_level(logging.DEBUG):
        services.delivery_attempt(delivery_pk=order.deliveries.get().pk)

    text = "\n".join(json.dumps(line) for line in _json_lines(caplog))
    sent = seller_server.requests[0]
    assert "secret-buyer@example.com" not in text
    assert config.signing_secret not in text
    assert sent.headers["webhook-signature"].split(",", 1)[1] not in text
    assert "LICENSE-OK" not in text  # the license itself


def test_log_format_json_switches_the_console_formatter():
    config = logging_config(fmt="json", level="INFO")

    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["formatters"]["json"]["()"] == "config.logs.JsonFormatter"


def test_unknown_log_format_is_refused_saying_what_to_use(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "xml", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "LOG_FORMAT=xml: use one of plain, json" in result.stderr


def test_process_started_with_log_format_json_writes_json_lines(tmp_path):
    code = "import logging; logging.getLogger('fulfillment').warning('hello')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "json", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line]
    assert {"logger": "fulfillment", "message": "hello"}.items() <= lines[-1].items()


def test_secret_paths_are_redacted(db):
    order_page = reverse("orders:order", kwargs={"token": "tok-SECRET"})
    reset = reverse(
        "password_reset_confirm", kwargs={"uidb64": "MQ", "token": "abc-SECRET"}
    )

    assert "SECRET" not in redact_path(order_page)
    assert "SECRET" not in redact_path(reset)
    assert redact_path(order_page) == "/orders/<token>/"
    assert redact_path("/dashboard/orders/5/") == "/dashboard/orders/5/"
    assert redact_path("/api/v1/orders/txn_1") == "/api/v1/orders/txn_1"


def test_django_request_lines_do_not_show_an_order_token():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s",
        ("/orders/tok-SECRET/",), None,
    )  # fmt: skip

    RedactPathsFilter().filter(record)

    assert record.getMessage() == "Not Found: /orders/<token>/"


def test_a_request_for_a_host_we_do_not_serve_is_one_warning_line(client, capsys):
    logging.config.dictConfig(logging_config(fmt="plain", level="INFO"))
    try:
        response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    finally:
        logging.config.dictConfig(settings.LOGGING)

    err = capsys.readouterr().err
    assert response.status_code == 400
    [line] = [line for line in err.splitlines() if "django.security" in line]
    assert " WARNING django.security.DisallowedHost Invalid HTTP_HOST" in line
    assert "Traceback" not in err
