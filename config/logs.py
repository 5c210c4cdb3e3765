"""Log formats: plain lines for people, JSON lines for a log collector.

`LOG_FORMAT=json` (production) writes one JSON object per line with `time`,
`level`, `logger` and `message`, plus the identifiers a log line passes through
`extra=` (EXTRA_FIELDS), so a collector can find every line about one delivery
or order. A 30-line formatter rather than a library: we need exactly these
fields, and nothing else to keep up to date.

gunicorn's access lines (config/gunicorn.conf.py) go through the same formatter;
their request facts become fields too, with secret path segments redacted
(`redact_path`), as they are in every other line's arguments (`RedactPathsFilter`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime

LOG_FORMATS = ("plain", "json")

# Identifiers and facts a log call may pass with `extra=`; only these become
# fields, so an `extra` can never smuggle a secret into the JSON by accident.
EXTRA_FIELDS = (
    "delivery_id",
    "order_id",
    "transaction_id",
    "product_id",
    "endpoint",
    "status",
    "duration_ms",
)

# gunicorn access atoms (see gunicorn.glogging.Logger.atoms) -> JSON fields.
ACCESS_FIELDS = {
    "h": "remote_addr",
    "m": "method",
    "U": "path",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
}

# Paths that carry a secret: the customer's order page is reached by its token
# alone, a password reset link by its one-time token. Access logs show neither.
_SECRET_PATHS = (
    (re.compile(r"^/orders/[^/]+"), "/orders/<token>"),
    (re.compile(r"^/accounts/reset/[^/]+/[^/]+"), "/accounts/reset/<uidb64>/<token>"),
)


def redact_path(path: str) -> str:
    """The request path with secret segments replaced by placeholders."""
    for pattern, replacement in _SECRET_PATHS:
        path = pattern.sub(replacement, path, count=1)
    return path


class RedactPathsFilter(logging.Filter):
    """Redact secret path segments in a line's arguments: Django logs
    "Not Found: %s" and "Internal Server Error: %s" with the request's path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg[:1] == "/" else arg
                for arg in record.args
            )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message,
    the EXTRA_FIELDS given, and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry.update(_access_fields(record.args))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _access_fields(atoms: Mapping) -> dict:
    fields = {}
    for atom, name in ACCESS_FIELDS.items():
        value = atoms.get(atom)
        if value in (None, "-"):
            continue
        fields[name] = int(value) if str(value).isdigit() else value
    return fields


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RequestRefusedFilter(logging.Filter):
    """Django logs a refused request (a Host header we do not serve, a body over
    the limit: SuspiciousOperation) at ERROR with its traceback, on a logger
    named django.security.<exception>. Anyone can send those, so they would flood
    the log and page operators: WARNING, one line. On the handler, because a
    parent logger's filters never see its children's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("django.security."):
            return True
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = None
        record.exc_text = None
        return True


def logging_config(*, fmt: str, level: str) -> dict:
    """The dictConfig of every process (web, worker, beat, commands): one console
    handler on the root logger, in `fmt` ("plain" or "json")."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "filters": {
            "redact_paths": {"()": "config.logs.RedactPathsFilter"},
            "request_refused": {"()": "config.logs.RequestRefusedFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["redact_paths", "request_refused"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
        },
    }
