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
the file var/demo_webhook_secret that `manage.py demo_setup` writes.
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


class LicenseHandler(BaseHTTPRequestHandler):
    server_version = "ExampleLicenseServer/1.0"
    issued: dict[str, str] = {}
    lock = threading.Lock()
    secret = ""

    def do_GET(self):  # noqa: N802 - http.server's naming
        query = urlsplit(self.path).query
        self._answer(query.encode(), dict(parse_qsl(query)))

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            fields = json.loads(body or b"{}")
        else:
            fields = dict(parse_qsl(body.decode("utf-8")))
        self._answer(body, fields)

    def _answer(self, payload: bytes, fields: dict) -> None:
        msg_id = self.headers.get("webhook-id", "")
        ok = verify(
            self.secret,
            msg_id,
            self.headers.get("webhook-timestamp", ""),
            payload,
            self.headers.get("webhook-signature", ""),
        )
        if not ok:
            self._send(401, "Invalid signature.")
            return
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

    def _send(self, status: int, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/markdown; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _secret(args) -> str:
    secret = args.secret or os.environ.get("LICENSE_SERVER_SECRET", "")
    path = Path(__file__).resolve().parent.parent / "var" / "demo_webhook_secret"
    if not secret and path.exists():
        secret = path.read_text().strip()
    if not secret.startswith("whsec_"):
        sys.exit("Give the product's signing secret (whsec_…) with --secret.")
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    LicenseHandler.secret = _secret(args)
    server = ThreadingHTTPServer((args.host, args.port), LicenseHandler)
    print(f"License server on http://{args.host}:{args.port}/license", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
