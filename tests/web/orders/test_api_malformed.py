"""The probe's malformed requests, again, against a real gunicorn.

Each case goes over a raw socket to gunicorn running config/gunicorn.conf.py on
the test database, as a client on the wire sends it: chunked bodies, a 3 MB
body, bytes that are not UTF-8, NUL in the URL path. Every answer must be the
documented status with the contract's JSON (tests/web/orders/contract.py), and
the server's log for it must hold nothing at ERROR and no traceback. The run
prints the table of inputs and answers.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import Order
from tests.config.test_gunicorn import GUNICORN, _free_port, _wait_until_up
from tests.integration import worker
from tests.web.orders.contract import assert_documented_answer
from web.orders.api import API_MAX_BODY_BYTES

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/v1/orders"
ORDER = "/api/v1/orders/{transaction_id}"
VALID = {
    "product": "pixel-editor",
    "quantity": 2,
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "transaction_id": "txn-wire-1",
}


def _order(**changes) -> bytes:
    # json.dumps escapes a lone surrogate as "\ud800", as the probe sent it.
    return json.dumps({**VALID, **changes}).encode()


def _without(name: str) -> bytes:
    return json.dumps({k: v for k, v in VALID.items() if k != name}).encode()


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    code: str | None = None
    body: bytes | None = None
    method: str = "POST"
    path: str = ORDERS
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    token: bool = True
    # The raw bytes after the headers, for bodies no honest client frames.
    raw_tail: bytes | None = None
    # Content-Length as declared, when it is not the body's length.
    declared: int | None = None


DIGITS_5000 = _order(quantity=0).replace(b": 0", b": " + b"9" * 5000)
# 400 invalid_fields, naming the field.
FIELD_ERRORS = {
    "\\ud800 in product": _order(product="\ud800"),
    "\\ud800 in transaction_id": _order(transaction_id="\ud800"),
    "\\ud800 in customer_name": _order(customer_name="Ada\ud800"),
    "\\udfff in customer_email": _order(customer_email="a\udfff@example.com"),
    "NUL in customer_name": _order(customer_name="Ada\x00"),
    "NUL in transaction_id": _order(transaction_id="t\x00"),
    "ESC in product": _order(product="pixel\x1b[2J"),
    "line break in customer_name": _order(customer_name="A\nBcc: x"),
    "quantity as a string": _order(quantity="2"),
    "quantity as a float": _order(quantity=2.5),
    "quantity as true": _order(quantity=True),
    "product as a number": _order(product=5),
    "customer_email as a list": _order(customer_email=["a@example.com"]),
    "customer_name as an object": _order(customer_name={"a": 1}),
    "missing product": _without("product"),
    "missing quantity": _without("quantity"),
    "no fields at all ({})": b"{}",
    "an unknown field": _order(coupon="FREE"),
    "quantity 10**30": _order(quantity=10**30),
    "quantity -1": _order(quantity=-1),
    "quantity 0": _order(quantity=0),
    "product of 60,000 characters": _order(product="p" * 60_000),
    "transaction_id of 10,000 characters": _order(transaction_id="t" * 10_000),
    "customer_name of 5,000 characters": _order(customer_name="n" * 5_000),
}
# 400 invalid_json, saying why.
JSON_ERRORS = {
    "JSON arrays nested 1,000 deep": b"[" * 1000 + b"]" * 1000,
    "JSON arrays nested 30,000 deep": b"[" * 30_000 + b"]" * 30_000,
    "JSON objects nested 1,000 deep": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "invalid UTF-8 (\\xff)": b'{"product": "\xff"}',
    "a surrogate's UTF-8 bytes in a string": b'{"product": "\xed\xa0\x80"}',
    "empty body": b"",
    "not JSON": b"{not json",
    "JSON array body": b"[1, 2]",
    "JSON number body": b"42",
    "JSON string body": b'"order"',
    "JSON null body": b"null",
    "quantity of 5,000 digits": DIGITS_5000,
    "quantity NaN": _order(quantity=0).replace(b": 0", b": NaN"),
}
# 404 order_not_found: ids no order can have, percent-encoded in the path.
UNKNOWABLE_IDS = ["%00", "a%00b", "%ED%A0%80", "a%0Ab", ""]
TOO_LARGE = "payload_too_large"

CASES = [
    Case("a valid order", 201, body=_order()),
    Case("a valid order, chunked", 201, body=_order(), chunked=True),
    *(Case(name, 400, "invalid_fields", body) for name, body in FIELD_ERRORS.items()),
    *(Case(name, 400, "invalid_json", body) for name, body in JSON_ERRORS.items()),
    Case("a malformed chunk size", 400, "invalid_json", chunked=True,
         raw_tail=b"zz\r\n{}\r\n0\r\n\r\n"),
    Case("a body shorter than its Content-Length", 400, "invalid_json",
         b'{"product"', declared=100),
    *(Case(f"GET {ORDERS}/{id_}", 404, "order_not_found", method="GET",
           path=f"{ORDERS}/{id_}") for id_ in UNKNOWABLE_IDS),
    Case("3 MB body", 413, TOO_LARGE, b"x" * 3_000_000),
    Case("3 MB body, chunked", 413, TOO_LARGE, b"x" * 3_000_000, chunked=True),
    Case("64 KiB + 1 byte body", 413, TOO_LARGE, b" " * (API_MAX_BODY_BYTES + 1)),
    Case("no token", 401, "unauthorized", _order(), token=False),
    Case("PUT instead of POST", 405, "method_not_allowed", _order(), method="PUT"),
]  # fmt: skip


@dataclass
class Server:
    port: int
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def api_server(django_db_setup, tmp_path_factory):
    """gunicorn with the project's config on the test database: JSON logs, one
    worker, and its own broker folder (nobody consumes the orders' tasks)."""
    tmp = tmp_path_factory.mktemp("api-server")
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": worker.test_database_url(),
        "VAR_DIR": str(tmp / "var"),
        "SECRET_KEY": settings.SECRET_KEY,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "LOG_FORMAT": "json",
        # No collectstatic here: the API serves no static file.
        "STATIC_MANIFEST": "false",
    }
    log = tmp / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [GUNICORN, "config.wsgi", "-c", "config/gunicorn.conf.py"],
            cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process)
        yield Server(port=port, log=log)
    finally:
        process.terminate()
        process.wait(timeout=40)


def _request(case: Case, token: str) -> bytes:
    lines = [f"{case.method} {case.path} HTTP/1.1", "Host: 127.0.0.1"]
    if case.token:
        lines.append(f"Authorization: Bearer {token}")
    lines.append("Content-Type: application/json")
    body = case.body if case.body is not None else b""
    if case.chunked:
        lines.append("Transfer-Encoding: chunked")
        tail = case.raw_tail or _chunks(body)
    else:
        declared = len(body) if case.declared is None else case.declared
        lines.append(f"Content-Length: {declared}")
        tail = body
    lines.extend(f"{name}: {value}" for name, value in case.headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + tail


def _chunks(body: bytes, size: int = 16_384) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    return framed + b"0\r\n\r\n"


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    # The server may answer (413) and stop reading before a big body is sent.
    # Then the client is done sending: a body shorter than declared ends here.
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _exchange(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send the request while reading the one answer, as a client would."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sender = threading.Thread(target=_send_quietly, args=(sock, request))
        sender.start()
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        headers = dict(response.getheaders())
    sender.join(timeout=20)
    return response.status, headers, body


def _parsed(line: str) -> dict:
    # Anything but a JSON line (a warning, a traceback printed by a failing log
    # handler) is output the server should not have written.
    try:
        return json.loads(line)
    except ValueError:
        return {"level": "RAW", "logger": "", "message": line}


def _lines_about_it(server: Server, before: int) -> list[dict]:
    """The log lines written for the last request, its access line included."""
    deadline = time.monotonic() + 5
    while True:
        lines = [_parsed(line) for line in server.log_lines()[before:] if line]
        if any(line["logger"] == "gunicorn.access" for line in lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"no access line: {lines}")
        time.sleep(0.05)


def _summary(answer: dict) -> str:
    """The code, and the fields named or the message: what a client is told."""
    if "error" not in answer:
        return f"order {answer['transaction_id']}"
    error = answer["error"]
    detail = ", ".join(error["fields"]) or error["message"]
    return f"{error['code']}: {detail}"


@pytest.fixture(scope="module")
def table(request):
    """The rows of the table, printed with the run's output at the end."""
    rows: list[tuple[str, int, str]] = []
    yield rows
    capture = request.config.pluginmanager.getplugin("capturemanager")
    width = max((len(name) for name, _, _ in rows), default=10)
    with capture.global_and_fixture_disabled():  # the table belongs in the output
        print(f"\n\nmalformed input against gunicorn: {len(rows)} requests")
        print(f"{'input':<{width}}  status  answer")
        for name, status, summary in rows:
            print(f"{name:<{width}}  {status:<6}  {summary}")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_input_gets_its_documented_answer(
    api_server, live_product, api_token, table, case
):
    before = len(api_server.log_lines())

    status, headers, body = _exchange(api_server.port, _request(case, api_token))

    answer = json.loads(body)
    table.append((case.name, status, _summary(answer)))
    assert status == case.status, answer
    assert headers["Content-Type"] == "application/json"
    path = ORDER if case.method == "GET" else ORDERS
    if status != 405:
        assert_documented_answer(path, case.method, status, body)
    if case.code:
        assert answer["error"]["code"] == case.code
    lines = _lines_about_it(api_server, before)
    assert all(line["level"] in ("INFO", "WARNING") for line in lines), lines
    assert not any("exception" in line for line in lines), lines


def test_a_chunked_order_is_stored_with_every_field(
    api_server, live_product, api_token
):
    case = Case("chunked", 201, body=_order(), chunked=True)

    status, _, _ = _exchange(api_server.port, _request(case, api_token))

    assert status == 201
    order = Order.objects.get()
    assert (order.transaction_id, order.quantity) == ("txn-wire-1", 2)
    assert order.customer_name == "Ada Lovelace"
