#!/usr/bin/env python3
"""A reference license server: what a seller's side of the fulfillment webhook does.

- Verifies the Standard Webhooks signature (webhook-id, webhook-timestamp,
  webhook-signature) with the product's `whsec_` secret, and rejects requests
  whose timestamp is more than 5 minutes away from now.
- Is idempotent on `webhook-id`: a retried delivery gets the same license back.
- Answers `200` with a Markdown license (no HTML).

Standard library only, so you can read and copy it. Run:

    python examples/license_server.py --port 8765 --secret whsec_...

The secret may also come from $LICENSE_SERVER_SECRET or, for `make run`'s demo,
the file var/demo_webhook_secret that `manage.py demo_setup` writes. More secrets
(one per product you wire to this server) can be pasted into the small form at
http://127.0.0.1:8765/ ; they are kept in var/license_server_secrets.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

TOLERANCE_SECONDS = 5 * 60


def verify(
    secret: str, msg_id: str, timestamp: str, payload: bytes, header: str
) -> bool:
    """True if any `v1,` signature in the header matches (several during a rotation)."""
    try:
        if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
            return False
    except ValueError:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in header.split():
        version, _, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


SECRETS_FILE = Path(__file__).resolve().parent.parent / "var" / "license_server_secrets"

SETUP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Demo license server</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>Demo license server</h1>
<p>Point a product's Webhook URL at <code>http://127.0.0.1:%(port)d/license</code>
and paste its signing secret here, as you would configure your own server.</p>
<form method="post" action="/secrets">
<label>Signing secret <input name="secret" size="50" placeholder="whsec_..."></label>
<button>Add</button></form><p>%(count)d secret(s) known.</p></body></html>"""


class LicenseHandler(BaseHTTPRequestHandler):
    server_version = "ExampleLicenseServer/1.0"
    issued: dict[str, str] = {}
    lock = threading.Lock()
    secrets: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        if parts.path == "/":
            page = SETUP_PAGE % {
                "port": self.server.server_port,
                "count": len(self.secrets),
            }
            self._send(200, page, "text/html")
            return
        self._answer(parts.query.encode(), lambda: dict(parse_qsl(parts.query)))

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path == "/secrets":
            self._add_secret(dict(parse_qsl(body.decode("utf-8"))).get("secret", ""))
            return
        self._answer(body, lambda: self._body_fields(body))

    def _body_fields(self, body: bytes) -> dict:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(body)
        return dict(parse_qsl(body.decode("utf-8")))

    def _add_secret(self, secret: str) -> None:
        secret = secret.strip()
        if not secret.startswith("whsec_"):
            self._send(400, "A signing secret starts with whsec_.")
            return
        with self.lock:
            if secret not in self.secrets:
                self.secrets.append(secret)
                SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
                SECRETS_FILE.write_text("\n".join(self.secrets[1:]) + "\n")
        self.send_response(303)
        self.send_header("Location", "/")
        self.end_headers()

    def _answer(self, payload: bytes, parse_fields) -> None:
        # The fields are parsed only once the signature has verified: until then
        # they are untrusted bytes (and a body that is not even valid JSON must
        # get a 401, not crash the handler).
        msg_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        signature = self.headers.get("webhook-signature", "")
        if not any(
            verify(secret, msg_id, timestamp, payload, signature)
            for secret in list(self.secrets)
        ):
            setup = f"http://127.0.0.1:{self.server.server_port}/"
            self._send(
                401,
                "The signature does not match any secret this server knows. Paste "
                f"your product's signing secret at {setup} and send the test again.",
            )
            return
        fields = parse_fields()
        with self.lock:
            key = self.issued.setdefault(msg_id, self._new_key())
        quantity = fields.get("quantity", "1")
        lines = [f"**License key:** `{key}`"]
        if str(quantity) != "1":
            lines.append(f"\nValid for {quantity} seats.")
        self._send(200, "\n".join(lines))

    @staticmethod
    def _new_key() -> str:
        raw = secrets.token_hex(8).upper()
        return "-".join(raw[i : i + 4] for i in range(0, 16, 4))

    def _send(self, status: int, text: str, media_type: str = "text/markdown") -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{media_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _secrets(args) -> list[str]:
    secret = args.secret or os.environ.get("LICENSE_SERVER_SECRET", "")
    path = Path(__file__).resolve().parent.parent / "var" / "demo_webhook_secret"
    if not secret and path.exists():
        secret = path.read_text().strip()
    if not secret.startswith("whsec_"):
        sys.exit("Give the product's signing secret (whsec_…) with --secret.")
    added = SECRETS_FILE.read_text().split() if SECRETS_FILE.exists() else []
    return [secret, *(s for s in added if s.startswith("whsec_") and s != secret)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    LicenseHandler.secrets = _secrets(args)
    server = ThreadingHTTPServer((args.host, args.port), LicenseHandler)
    print(f"License server on http://{args.host}:{args.port}/license", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
