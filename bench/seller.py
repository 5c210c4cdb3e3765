"""The sellers' license servers, each run as its own process.

    python -m bench.seller fast --ports 15    # 15 sellers' servers in one process
    python -m bench.seller slow --hang 20     # accepts, then hangs for 20 s

Every port is one seller's server, so one endpoint of ours: the per-endpoint
in-flight limit and circuit breaker see as many servers as there are ports.
When listening, the process prints one JSON line: {"ports": [...]}.

The server is waitress: a well-kept, pure-Python, multi-threaded WSGI server
that speaks HTTP/1.1 with keep-alive, as sellers' real servers (nginx, gunicorn's
threaded workers, ...) do. The standard library's wsgiref closes the connection
after every request, which would hide what connection reuse (requests.Session in
raw, a kept-alive transport of ours) is worth. All ports share one thread pool,
and the listen backlog is large, so a burst of connections is never dropped (a
dropped SYN costs a one-second retransmission and would be measured as ours).

The fast server verifies every request as a seller should, with the official
`standardwebhooks` library and the product's own secret, and answers a short
Markdown license. Control paths, used by the benchmark driver only:
`POST /_bench/secrets` ({product_id: secret}, or {"django-webhook": token}) and
`GET /_bench/stats`.

The django-webhook peer signs in its own way, so its requests go to the path
`/django-webhook`, where the same server verifies them as that library's
receivers should: `Django-Webhook-Signature-v1` holds comma-separated hex
HMAC-SHA256 signatures of "{timestamp}:{body}" with the webhook's secret, and
`Django-Webhook-Request-Timestamp` must be within five minutes. Verified
requests of both kinds count in the same "verified" figure.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import Counter
from urllib.parse import parse_qs

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from waitress.server import create_server

from bench.wire import django_webhook_valid

DJANGO_WEBHOOK_PATH = "/django-webhook"
DJANGO_WEBHOOK_KEY = "django-webhook"

LICENSE = (
    "**License key:** `BENCH-{code}`\n\n"
    "Paste it in *Preferences → License*. Valid for {quantity} seat(s).\n"
)


class SellerApp:
    """The WSGI application shared by every port of one process."""

    def __init__(self, *, hang: float = 0.0) -> None:
        self.hang = hang
        self.stats: Counter[str] = Counter()
        # Wall-clock time of the last verified request: the end of a run that
        # stores nothing (the naive peer's) is read from here.
        self.last_verified_at = 0.0
        self.webhooks: dict[str, Webhook] = {}
        self.django_webhook_secret = b""
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if path == "/_bench/stats":
            with self.lock:
                stats = {**self.stats, "last_verified_at": self.last_verified_at}
            return _answer(start_response, "200 OK", json.dumps(stats))
        if path == "/_bench/secrets":
            return self._learn_secrets(body, start_response)
        self._count("requests")
        if self.hang:
            # Past our total timeout: the worker gives up first.
            self.stopping.wait(self.hang)
            return _answer(start_response, "200 OK", "too late")
        if path == DJANGO_WEBHOOK_PATH:
            return self._django_webhook(environ, body, start_response)
        return self._license(environ, body, start_response)

    def _count(self, name: str) -> None:
        with self.lock:
            self.stats[name] += 1

    def _verified(self) -> None:
        with self.lock:
            self.stats["verified"] += 1
            self.last_verified_at = time.time()

    def _learn_secrets(self, body: bytes, start_response):
        secrets = json.loads(body)
        token = secrets.pop(DJANGO_WEBHOOK_KEY, None)
        with self.lock:
            self.webhooks.update({pk: Webhook(s) for pk, s in secrets.items()})
            if token is not None:
                self.django_webhook_secret = token.encode()
        return _answer(start_response, "204 No Content", "")

    def _django_webhook(self, environ, body: bytes, start_response):
        timestamp = environ.get("HTTP_DJANGO_WEBHOOK_REQUEST_TIMESTAMP", "")
        signatures = environ.get("HTTP_DJANGO_WEBHOOK_SIGNATURE_V1", "").split(",")
        if not django_webhook_valid(
            self.django_webhook_secret, timestamp, body, signatures
        ):
            self._count("rejected")
            return _answer(start_response, "401 Unauthorized", "bad signature")
        self._verified()
        return _answer(start_response, "200 OK", "")

    def _license(self, environ, body: bytes, start_response):
        fields = parse_qs(body.decode("utf-8"))
        product_id = (fields.get("product_id") or [""])[0]
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        webhook = self.webhooks.get(product_id)
        try:
            if webhook is None:
                raise WebhookVerificationError(f"unknown product {product_id!r}")
            webhook.verify(body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            self._count("rejected")
            return _answer(start_response, "401 Unauthorized", str(exc))
        self._verified()
        text = LICENSE.format(
            code=headers["webhook-id"][-12:],
            quantity=(fields.get("quantity") or ["1"])[0],
        )
        return _answer(
            start_response, "200 OK", text, content_type="text/markdown; charset=utf-8"
        )


def _answer(start_response, status: str, text: str, *, content_type="text/plain"):
    data = text.encode("utf-8")
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    )
    return [data]


def serve(app: SellerApp, count: int, threads: int) -> tuple[object, list[int]]:
    """A waitress server on `count` free 127.0.0.1 ports; returns it and them."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    server = create_server(
        app,
        sockets=sockets,
        threads=threads,
        backlog=1024,
        connection_limit=2000,
        ident="bench-seller",
    )
    return server, [sock.getsockname()[1] for sock in sockets]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["fast", "slow"])
    parser.add_argument("--ports", type=int, default=1, help="servers (one per port)")
    parser.add_argument(
        "--hang", type=float, default=20.0, help="slow: seconds before answering"
    )
    parser.add_argument("--threads", type=int, default=32, help="worker threads")
    args = parser.parse_args(argv)
    app = SellerApp(hang=args.hang if args.kind == "slow" else 0.0)
    server, ports = serve(app, args.ports, args.threads)
    print(json.dumps({"ports": ports}), flush=True)
    # SIGTERM's default action ends the process, hanging requests and all.
    server.run()


if __name__ == "__main__":
    main()
