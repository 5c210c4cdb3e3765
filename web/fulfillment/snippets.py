"""Copy-paste license endpoints that verify our requests, for the Webhook Editor.

Each snippet is a complete, minimal server in one language (Python, Node, PHP)
using only its standard library and the official Standard Webhooks library. It is
written for one WebhookConfig: the seller's method (what is signed: the body or
the raw query string), body format (how the fields are parsed, and whether `test`
is a boolean or the text "true") and custom field names.

tests/web/fulfillment/test_snippets.py runs every snippet as a real server and sends
it real signed deliveries, so what the editor shows is known to work.

Seller-chosen names go into the code only as string literals, escaped for each
language, never into comments: a name like `?>` ends PHP code inside a comment.
The signing secret never goes into a snippet; they read $WEBHOOK_SECRET.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from fulfillment.models import WebhookConfig

SECRET_PLACEHOLDER = "whsec_..."  # noqa: S105 - shown to the seller, not a secret


@dataclass(frozen=True)
class Snippet:
    language: str  # "python", "node" or "php"
    label: str
    install_command: str
    filename: str
    code: str
    run_command: str


@dataclass(frozen=True)
class _Shape:
    """What a snippet depends on, read from the config once."""

    method: str  # "GET" or "POST"
    is_json: bool  # JSON body (POST only): the library parses it, types are kept
    custom_names: tuple[str, ...]
    separate_multibuy: bool
    response_format: str  # ResponseFormat: how make_license answers

    @property
    def description(self) -> str:
        if self.method == "GET":
            return "GET, fields in the query string; the raw query string is signed."
        body = "a JSON body" if self.is_json else "a form-encoded body"
        return f"POST with {body}; the body exactly as sent is signed."

    @property
    def quantity_comment(self) -> str:
        if self.separate_multibuy:
            return "Separate Multibuy is on: each unit is its own request (quantity 1)."
        return "One key per unit: `quantity` is the number of units bought."


def _shape(config: WebhookConfig) -> _Shape:
    method = config.method.upper()
    return _Shape(
        method=method,
        is_json=method == "POST" and config.body_format == "json",
        custom_names=tuple(field.name for field in config.custom_fields.all()),
        separate_multibuy=config.separate_multibuy,
        response_format=config.response_format,
    )


_MARKER = re.compile(r"<<(\w+)>>")


def _fill(template: str, **parts: str) -> str:
    """Replace each <<name>> marker (a sequence no snippet language uses).

    A marker alone on its line is a block: every line of its value gets the
    marker's indentation, and an empty value leaves no line behind.
    """
    if set(_MARKER.findall(template)) != set(parts):
        raise ValueError("The snippet's markers and parts do not match.")
    lines: list[str] = []
    for line in template.splitlines():
        block = _MARKER.fullmatch(line.strip())
        if block:
            indent = line[: len(line) - len(line.lstrip())]
            value = parts[block.group(1)]
            lines += [indent + part if part else "" for part in value.splitlines()]
        else:
            lines.append(_MARKER.sub(lambda m: parts[m.group(1)], line))
    return "\n".join(lines) + "\n"


def _make_license(variants: dict[str, str], shape: _Shape, is_test: str) -> str:
    """The language's `make_license` for the config's Response format: one
    Markdown license for the whole quantity, one key per line, or JSON."""
    template = variants[shape.response_format]
    parts = {"quantity_comment": shape.quantity_comment, "is_test": is_test}
    return _fill(template, **{k: v for k, v in parts.items() if f"<<{k}>>" in template})


_LINES_COMMENT = (
    'Response format "One license per line": one key per line and nothing\n'
    "else, as many lines as `quantity`."
)
_JSON_COMMENT = (
    'Response format JSON: {"licenses": [...]}, one license (Markdown is fine)\n'
    "per unit, as many as `quantity`."
)


def _commented(prefix: str, text: str) -> str:
    return "\n".join(f"{prefix} {line}" for line in text.splitlines())


# --- Python: http.server + standardwebhooks ------------------------------------

_PYTHON = """\
# A license endpoint for our fulfillment webhook.
# We send <<description>>
import os
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
<<imports>>

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])  # your product's signing secret
# The custom fields you added in the Webhook Editor, by the names you gave them.
CUSTOM_FIELDS = [<<custom_names>>]
issued = {}  # webhook-id -> license text. Keep this in your database instead.


def new_key():
    return secrets.token_hex(8).upper()  # Replace with your own license keys.


<<make_license>>


class LicenseHandler(BaseHTTPRequestHandler):
    def do_<<method>>(self):
        <<read_payload>>
        try:
            <<verify>>
        except WebhookVerificationError as error:
            return self.answer(401, f"Invalid signature: {error}")
        <<parse>>
        # A retry has the same webhook-id: answer the license issued the first time.
        msg_id = self.headers["webhook-id"]
        if msg_id not in issued:
            issued[msg_id] = make_license(fields)
        self.answer(200, issued[msg_id])

    def answer(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


port = int(os.environ.get("PORT", "8000"))
ThreadingHTTPServer(("", port), LicenseHandler).serve_forever()
"""


_PYTHON_LICENSE = {
    "text": """\
def make_license(fields):
    # <<quantity_comment>>
    lines = [f"**License key:** `{new_key()}`" for _ in range(int(fields["quantity"]))]
    if <<is_test>>:
        lines.append("_Test delivery: these keys are samples._")
    lines += [f"{name}: {fields.get(name, '')}" for name in CUSTOM_FIELDS]
    return "\\n".join(lines)  # Markdown is fine; HTML is not.
""",
    "lines": f"""\
def make_license(fields):
    # <<quantity_comment>>
{_commented("    #", _LINES_COMMENT)}
    return "\\n".join(new_key() for _ in range(int(fields["quantity"])))
""",
    "json": f"""\
def make_license(fields):
    # <<quantity_comment>>
{_commented("    #", _JSON_COMMENT)}
    keys = [f"`{{new_key()}}`" for _ in range(int(fields["quantity"]))]
    return json.dumps({{"licenses": keys}})
""",
}


def _python(shape: _Shape) -> str:
    if shape.method == "GET":
        read = 'payload = self.path.partition("?")[2]  # the raw query string, as sent'
        text = "payload"
    else:
        read = (
            "# The body exactly as sent; parse it only once it is verified.\n"
            'payload = self.rfile.read(int(self.headers["Content-Length"] or 0))'
        )
        text = "payload.decode()"
    if shape.is_json:
        verify = "fields = webhook.verify(payload, dict(self.headers))  # parses JSON"
        imports, parse, is_test = "", "", 'fields["test"] is True'
    else:
        verify = "webhook.verify(payload, dict(self.headers), json_parse=False)"
        imports = "from urllib.parse import parse_qsl"
        parse = f"fields = dict(parse_qsl({text}, keep_blank_values=True))"
        is_test = 'fields["test"] == "true"'
    if shape.response_format == "json":
        imports = "\n".join(filter(None, ["import json", imports]))
    return _fill(
        _PYTHON,
        description=shape.description,
        imports=imports,
        custom_names=", ".join(repr(name) for name in shape.custom_names),
        make_license=_make_license(_PYTHON_LICENSE, shape, is_test),
        method=shape.method,
        read_payload=read,
        verify=verify,
        parse=parse,
    )


# --- Node: node:http + standardwebhooks (CommonJS) ------------------------------

_NODE = """\
// A license endpoint for our fulfillment webhook.
// We send <<description>>
const http = require("node:http");
const crypto = require("node:crypto");
const { Webhook } = require("standardwebhooks");

// Your product's signing secret.
const webhook = new Webhook(process.env.WEBHOOK_SECRET);
// The custom fields you added in the Webhook Editor, by the names you gave them.
const CUSTOM_FIELDS = [<<custom_names>>];
// webhook-id -> license text. Keep this in your database instead.
const issued = new Map();

function newKey() {
  // Replace with your own license keys.
  return crypto.randomBytes(8).toString("hex").toUpperCase();
}

<<make_license>>

function answer(res, status, text) {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
}

http.createServer(async (req, res) => {
  <<read_payload>>
  <<verify>>
  // A retry has the same webhook-id: answer the license issued the first time.
  const msgId = req.headers["webhook-id"];
  if (!issued.has(msgId)) issued.set(msgId, makeLicense(fields));
  answer(res, 200, issued.get(msgId));
}).listen(Number(process.env.PORT || 8000));
"""

_NODE_READ_BODY = """\
const chunks = [];
for await (const chunk of req) chunks.push(chunk);
const payload = Buffer.concat(chunks).toString("utf8"); // the body exactly as sent"""

_NODE_READ_QUERY = """\
const at = req.url.indexOf("?"); // the raw query string exactly as sent
const payload = at === -1 ? "" : req.url.slice(at + 1);"""

_NODE_VERIFY_JSON = """\
let fields;
try {
  fields = webhook.verify(payload, req.headers); // also parses the JSON
} catch (error) {
  return answer(res, 401, `Invalid signature: ${error.message}`);
}"""

_NODE_VERIFY_FORM = """\
try {
  webhook.verify(payload, req.headers, { jsonParse: false });
} catch (error) {
  return answer(res, 401, `Invalid signature: ${error.message}`);
}
const fields = Object.fromEntries(new URLSearchParams(payload));"""


_NODE_LICENSE = {
    "text": """\
function makeLicense(fields) {
  // <<quantity_comment>>
  const lines = [];
  for (let i = 0; i < Number(fields.quantity); i++) {
    lines.push("**License key:** `" + newKey() + "`");
  }
  if (<<is_test>>) lines.push("_Test delivery: these keys are samples._");
  for (const name of CUSTOM_FIELDS) lines.push(`${name}: ${fields[name] ?? ""}`);
  return lines.join("\\n"); // Markdown is fine; HTML is not.
}
""",
    "lines": f"""\
function makeLicense(fields) {{
  // <<quantity_comment>>
{_commented("  //", _LINES_COMMENT)}
  return Array.from({{ length: Number(fields.quantity) }}, newKey).join("\\n");
}}
""",
    "json": f"""\
function makeLicense(fields) {{
  // <<quantity_comment>>
{_commented("  //", _JSON_COMMENT)}
  const keys = [];
  for (let i = 0; i < Number(fields.quantity); i++) keys.push("`" + newKey() + "`");
  return JSON.stringify({{ licenses: keys }});
}}
""",
}


def _js_string(text: str) -> str:
    # A JSON string is a valid JavaScript string literal.
    return json.dumps(text, ensure_ascii=False)


def _node(shape: _Shape) -> str:
    return _fill(
        _NODE,
        description=shape.description,
        custom_names=", ".join(_js_string(name) for name in shape.custom_names),
        make_license=_make_license(
            _NODE_LICENSE,
            shape,
            "fields.test === true" if shape.is_json else 'fields.test === "true"',
        ),
        read_payload=_NODE_READ_QUERY if shape.method == "GET" else _NODE_READ_BODY,
        verify=_NODE_VERIFY_JSON if shape.is_json else _NODE_VERIFY_FORM,
    )


# --- PHP: a plain script + standard-webhooks/standard-webhooks ------------------

_PHP = """\
<?php
// A license endpoint for our fulfillment webhook.
// We send <<description>>
require __DIR__ . '/vendor/autoload.php';

use StandardWebhooks\\Exception\\WebhookVerificationException;
use StandardWebhooks\\Webhook;

// The custom fields you added in the Webhook Editor, by the names you gave them.
const CUSTOM_FIELDS = [<<custom_names>>];

function answer(int $status, string $text): void
{
    http_response_code($status);
    header('Content-Type: text/plain; charset=utf-8');
    echo $text;
    exit;
}

<<make_license>>

<<read_payload>>
$headers = array_change_key_case(getallheaders(), CASE_LOWER); // lower-case keys
try {
    <<verify>>
} catch (WebhookVerificationException $error) {
    answer(401, 'Invalid signature: ' . $error->getMessage());
}
<<parse>>
// A retry has the same webhook-id: answer the license issued the first time.
// PHP forgets everything between requests, so this example keeps licenses in
// files: keep them in your database instead.
$file = sys_get_temp_dir() . '/license-' . hash('sha256', $headers['webhook-id']);
if (!is_file($file)) {
    file_put_contents($file, make_license($fields));
}
answer(200, file_get_contents($file));
"""

# parse_str() and $_POST would rename fields with dots or spaces in their names.
_PHP_PARSE_FORM = """\
$fields = [];
foreach (explode('&', $payload) as $pair) {
    [$name, $value] = array_map('urldecode', explode('=', $pair, 2) + [1 => '']);
    $fields[$name] = $value;
}"""


_PHP_KEYS = """\
    $keys = [];
    for ($i = 0; $i < (int) $fields['quantity']; $i++) {
        $keys[] = strtoupper(bin2hex(random_bytes(8))); // Replace with your own keys.
    }"""
_PHP_LICENSE = {
    "text": """\
function make_license(array $fields): string
{
    // <<quantity_comment>>
    $lines = [];
    for ($i = 0; $i < (int) $fields['quantity']; $i++) {
        $key = strtoupper(bin2hex(random_bytes(8))); // Replace with your own keys.
        $lines[] = "**License key:** `$key`";
    }
    if (<<is_test>>) {
        $lines[] = '_Test delivery: these keys are samples._';
    }
    foreach (CUSTOM_FIELDS as $name) {
        $lines[] = $name . ': ' . ($fields[$name] ?? '');
    }
    return implode("\\n", $lines); // Markdown is fine; HTML is not.
}
""",
    "lines": f"""\
function make_license(array $fields): string
{{
    // <<quantity_comment>>
{_commented("    //", _LINES_COMMENT)}
{_PHP_KEYS}
    return implode("\\n", $keys);
}}
""",
    "json": f"""\
function make_license(array $fields): string
{{
    // <<quantity_comment>>
{_commented("    //", _JSON_COMMENT)}
{_PHP_KEYS}
    $licenses = array_map(fn ($key) => "`$key`", $keys);
    return json_encode(['licenses' => $licenses]);
}}
""",
}


def _php_string(text: str) -> str:
    # Single quotes: no $variables or escapes inside but \\ and \'.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php(shape: _Shape) -> str:
    if shape.method == "GET":
        read = "$payload = $_SERVER['QUERY_STRING'] ?? ''; // the raw query string"
    else:
        read = "$payload = file_get_contents('php://input'); // the body as sent"
    verify = "(new Webhook(getenv('WEBHOOK_SECRET')))->verify($payload, $headers);"
    return _fill(
        _PHP,
        description=shape.description,
        custom_names=", ".join(_php_string(name) for name in shape.custom_names),
        make_license=_make_license(
            _PHP_LICENSE,
            shape,
            "$fields['test'] === true"
            if shape.is_json
            else "$fields['test'] === 'true'",
        ),
        read_payload=read,
        verify=("$fields = " if shape.is_json else "") + verify,
        parse="" if shape.is_json else _PHP_PARSE_FORM,
    )


# --- The public function -------------------------------------------------------

_LANGUAGES: tuple[tuple[str, str, str, str, str, Callable[[_Shape], str]], ...] = (
    (
        "python",
        "Python",
        'pip install "standardwebhooks>=1.1"',
        "license_server.py",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} PORT=8000 python license_server.py",
        _python,
    ),
    (
        "node",
        "Node.js",
        "npm install standardwebhooks@^1.1.1",
        "license-server.js",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} PORT=8000 node license-server.js",
        _node,
    ),
    (
        "php",
        "PHP",
        "composer require standard-webhooks/standard-webhooks",
        "license.php",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} php -S 0.0.0.0:8000 license.php",
        _php,
    ),
)


def verification_snippets(config: WebhookConfig) -> list[Snippet]:
    """A license endpoint per language for this config, as the editor shows them.

    They follow the saved config (method, body format, custom field names), so
    the editor must build them from the saved row, not from unsaved form input.
    """
    shape = _shape(config)
    return [
        Snippet(
            language=language,
            label=label,
            install_command=install,
            filename=filename,
            code=build(shape),
            run_command=run,
        )
        for language, label, install, filename, run, build in _LANGUAGES
    ]


# --- Alerts: receivers for the account-wide webhook -----------------------------
#
# The same verification as the license endpoints' JSON shape (the body exactly as
# sent is signed, the library parses it), with the Alerts signing secret; instead
# of a license they handle each event once and answer 200.

_PYTHON_ALERTS = """\
# An endpoint for our Alerts: a signed JSON POST per event you chose.
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])  # your Alerts signing secret
handled = set()  # webhook-ids of the events handled. Keep them in your database.


def handle(event):
    # event["type"]: "order.completed", "order.refunded", "delivery.failed", ...
    # event["data"]: the order (transaction_id, product, total, customer, ...).
    print(event["type"], event["data"].get("transaction_id"), flush=True)


class AlertsHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        # The body exactly as sent; parse it only once it is verified.
        payload = self.rfile.read(int(self.headers["Content-Length"] or 0))
        try:
            event = webhook.verify(payload, dict(self.headers))  # parses JSON
        except WebhookVerificationError as error:
            return self.answer(401, f"Invalid signature: {error}")
        # A retry has the same webhook-id: handle each event once.
        msg_id = self.headers["webhook-id"]
        if msg_id not in handled:
            handle(event)
            handled.add(msg_id)
        self.answer(200, "OK")

    def answer(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


port = int(os.environ.get("PORT", "8000"))
ThreadingHTTPServer(("", port), AlertsHandler).serve_forever()
"""

_NODE_ALERTS = """\
// An endpoint for our Alerts: a signed JSON POST per event you chose.
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

// Your Alerts signing secret.
const webhook = new Webhook(process.env.WEBHOOK_SECRET);
// webhook-ids of the events handled. Keep them in your database instead.
const handled = new Set();

function handle(event) {
  // event.type: "order.completed", "order.refunded", "delivery.failed", ...
  // event.data: the order (transaction_id, product, total, customer, ...).
  console.log(event.type, event.data.transaction_id);
}

function answer(res, status, text) {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
}

http.createServer(async (req, res) => {
  <<read_payload>>
  <<verify>>
  // A retry has the same webhook-id: handle each event once.
  const msgId = req.headers["webhook-id"];
  if (!handled.has(msgId)) {
    handle(fields);
    handled.add(msgId);
  }
  answer(res, 200, "OK");
}).listen(Number(process.env.PORT || 8000));
"""

_PHP_ALERTS = """\
<?php
// An endpoint for our Alerts: a signed JSON POST per event you chose.
require __DIR__ . '/vendor/autoload.php';

use StandardWebhooks\\Exception\\WebhookVerificationException;
use StandardWebhooks\\Webhook;

function answer(int $status, string $text): void
{
    http_response_code($status);
    header('Content-Type: text/plain; charset=utf-8');
    echo $text;
    exit;
}

function handle(array $event): void
{
    // $event['type']: 'order.completed', 'order.refunded', 'delivery.failed', ...
    // $event['data']: the order (transaction_id, product, total, customer, ...).
    error_log($event['type'] . ' ' . ($event['data']['transaction_id'] ?? ''));
}

$payload = file_get_contents('php://input'); // the body as sent
$headers = array_change_key_case(getallheaders(), CASE_LOWER); // lower-case keys
try {
    $event = (new Webhook(getenv('WEBHOOK_SECRET')))->verify($payload, $headers);
} catch (WebhookVerificationException $error) {
    answer(401, 'Invalid signature: ' . $error->getMessage());
}
// A retry has the same webhook-id: handle each event once. PHP forgets
// everything between requests, so this example marks them with files: keep
// them in your database instead.
$file = sys_get_temp_dir() . '/alert-' . hash('sha256', $headers['webhook-id']);
if (!is_file($file)) {
    handle($event);
    touch($file);
}
answer(200, 'OK');
"""

_ALERT_LANGUAGES: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "python",
        "Python",
        'pip install "standardwebhooks>=1.1"',
        "alerts_server.py",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} PORT=8000 python alerts_server.py",
        _PYTHON_ALERTS,
    ),
    (
        "node",
        "Node.js",
        "npm install standardwebhooks@^1.1.1",
        "alerts-server.js",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} PORT=8000 node alerts-server.js",
        _fill(_NODE_ALERTS, read_payload=_NODE_READ_BODY, verify=_NODE_VERIFY_JSON),
    ),
    (
        "php",
        "PHP",
        "composer require standard-webhooks/standard-webhooks",
        "alerts.php",
        f"WEBHOOK_SECRET={SECRET_PLACEHOLDER} php -S 0.0.0.0:8000 alerts.php",
        _PHP_ALERTS,
    ),
)


def alert_snippets() -> list[Snippet]:
    """An Alerts endpoint per language, as the Alerts page shows them."""
    return [
        Snippet(
            language=language,
            label=label,
            install_command=install,
            filename=filename,
            code=code,
            run_command=run,
        )
        for language, label, install, filename, run, code in _ALERT_LANGUAGES
    ]
