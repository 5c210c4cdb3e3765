"""The sellers' license server of the chaos run: TLS on loopback, one process.

    python -m bench.chaos.seller --cert server.pem --key server.key

Every product is a path on the one host:port, `/license/<slug>`, as a seller
with several products on one server would set it up: our workers see one
endpoint (one in-flight limit, one circuit breaker) for all of them. When
listening, the process prints one JSON line: {"port": ...}.

Each request is verified with the official `standardwebhooks` library and the
product's own secret (POST: the body; GET: the raw query string), and recorded:
time, webhook-id, delivery_id, product, the status answered, verified or not.
A product may be flaky: it answers 500 to the first N requests of each delivery
(counted per `webhook-id`), then 200. The whole server may hang: from a moment
on, for a given time, it accepts each request and never answers it (the
connection is closed when the hang ends); afterwards it answers again.

Control paths, for the harness only (never counted): `POST /_chaos/products`
({slug: {"secret": ..., "fail_first": N}}), `POST /_chaos/hang` ({"seconds":
S}: from now on), `GET /_chaos/records`.

Every answer comes after `--latency` seconds (0.1 by default in the run), as a
license server across the internet answers: an attempt is then on the wire long
enough for a SIGKILL to catch some in flight. A threaded `http.server` with
HTTP/1.1 keep-alive; the TLS handshake runs in the
connection's own thread, so a slow client never blocks `accept`.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LICENSE = "**License key:** `CHAOS-{code}`\n\nValid for {quantity} seat(s).\n"
# An idle kept-alive connection is closed after this long (our transport keeps
# its own idle connections at most 4 s).
IDLE_SECONDS = 10


class SellerState:
    """Products, their request counts, the hang, and the record of requests."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.webhooks: dict[str, Webhook] = {}
        self.fail_first: dict[str, int] = {}
        self.seen: dict[str, int] = {}  # requests per webhook-id
        self.records: list[dict] = []
        self.hang_from = 0.0
        self.hang_until = 0.0

    def products_learn(self, products: dict[str, dict]) -> None:
        with self.lock:
            for slug, product in products.items():
                self.webhooks[slug] = Webhook(product["secret"])
                self.fail_first[slug] = int(product.get("fail_first", 0))

    def hang_start(self, seconds: float) -> dict:
        with self.lock:
            self.hang_from = time.time()
            self.hang_until = self.hang_from + seconds
            return {"from": self.hang_from, "until": self.hang_until}

    def hanging(self, now: float) -> float:
        """Seconds left in the hang (0 when the server answers)."""
        with self.lock:
            return max(0.0, self.hang_until - now) if now >= self.hang_from else 0.0

    def count(self, webhook_id: str) -> int:
        """This request's number among its delivery's requests (1, 2, ...)."""
        with self.lock:
            self.seen[webhook_id] = self.seen.get(webhook_id, 0) + 1
            return self.seen[webhook_id]

    def record(self, entry: dict) -> None:
        with self.lock:
            self.records.append(entry)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    server: SellerServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # thousands of requests; the records say what happened

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/_chaos/records":
            with self.server.state.lock:
                records = list(self.server.state.records)
            self._answer(200, json.dumps(records), "application/json")
            return
        self._license(urlsplit(self.path).query.encode("ascii"))

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path == "/_chaos/products":
            self.server.state.products_learn(json.loads(body))
            self._answer(200, "{}", "application/json")
        elif path == "/_chaos/hang":
            until = self.server.state.hang_start(float(json.loads(body)["seconds"]))
            self._answer(200, json.dumps(until), "application/json")
        else:
            self._license(body)

    def _license(self, signed: bytes) -> None:
        received = time.time()
        slug = urlsplit(self.path).path.removeprefix("/license/")
        fields = _fields(self.headers.get("Content-Type", ""), signed)
        entry = {
            "t": received,
            "slug": slug,
            "method": self.command,
            "webhook_id": self.headers.get("webhook-id", ""),
            "delivery_id": fields.get("delivery_id", ""),
            "product_id": fields.get("product_id", ""),
            "quantity": fields.get("quantity", ""),
        }
        entry["verified"], entry["error"] = self._verify(slug, signed)
        hang = self.server.state.hanging(received)
        if hang:
            self._hang(entry, hang)
            return
        time.sleep(self.server.state.latency)
        status = self._status(entry)
        entry["status"] = status
        self.server.state.record(entry)
        if status == 200:
            text = LICENSE.format(code=entry["webhook_id"][-12:], **fields)
            self._answer(200, text, "text/markdown; charset=utf-8")
        else:
            self._answer(status, "try again later", "text/plain")

    def _verify(self, slug: str, signed: bytes) -> tuple[bool, str]:
        webhook = self.server.state.webhooks.get(slug)
        if webhook is None:
            return False, f"unknown product {slug!r}"
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            webhook.verify(signed, headers, json_parse=False)
        except WebhookVerificationError as exc:
            return False, str(exc)
        return True, ""

    def _status(self, entry: dict) -> int:
        if not entry["verified"]:
            return 401
        number = self.server.state.count(entry["webhook_id"])
        return 500 if number <= self.server.state.fail_first[entry["slug"]] else 200

    def _hang(self, entry: dict, seconds: float) -> None:
        """Accept and never answer: hold the request until the hang ends, then
        drop the connection."""
        entry["status"] = None
        self.server.state.record(entry)
        time.sleep(seconds)
        self.close_connection = True

    def _answer(self, status: int, text: str, content_type: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _fields(content_type: str, signed: bytes) -> dict[str, str]:
    """The payload's fields, whichever way the product sends them."""
    text = signed.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        return {key: str(value) for key, value in json.loads(text).items()}
    return {key: values[0] for key, values in parse_qs(text).items()}


class SellerServer(ThreadingHTTPServer):
    """One thread per connection; TLS is negotiated in that thread."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, context: ssl.SSLContext, state: SellerState) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context
        self.state = state

    def finish_request(self, request: socket.socket, client_address) -> None:
        request.settimeout(IDLE_SECONDS)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except OSError:
            pass  # the client gave up (a hang's request, a killed worker's)
        finally:
            tls.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds")
    args = parser.parse_args(argv)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server = SellerServer(context, SellerState(latency=args.latency))
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
