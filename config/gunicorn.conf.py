"""gunicorn settings for production: `gunicorn config.wsgi -c config/gunicorn.conf.py`.

Every value comes from the environment (and `.env`, as for Django), with a
default that suits one small machine behind an https proxy. docs/deploy.md
explains how to size them.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from gunicorn import glogging

from config.logs import LOG_FORMATS, logging_config, redact_path

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Sockets and processes --------------------------------------------------------
bind = f"0.0.0.0:{env.int('PORT', default=8000)}"


def default_workers(cpus: int | None = None) -> int:
    """2 x cores + 1, at most 8: every worker holds its own copy of Django (about
    100 MB) and up to `threads` database connections (its pool keeps them
    open), so more processes on a big machine cost memory and PostgreSQL
    connections sooner than they add throughput. Add machines instead."""
    return min(2 * (cpus or os.cpu_count() or 1) + 1, 8)


workers = env.int("WEB_CONCURRENCY", default=default_workers())
# Threads: a page waiting on the database or on a webhook test run (up to three
# requests of FULFILLMENT_TOTAL_TIMEOUT each) does not hold a whole process.
worker_class = "gthread"
threads = env.int("WEB_THREADS", default=4)
# A worker silent this long is killed and replaced. Above the longest request
# (a webhook test run: 3 x 15 s by default); the proxy's timeout must be longer.
timeout = env.int("WEB_TIMEOUT", default=60)
# On SIGTERM (deploy, scale down) requests in progress get this long to finish.
graceful_timeout = env.int("WEB_GRACEFUL_TIMEOUT", default=30)
keepalive = env.int("WEB_KEEPALIVE", default=5)
# Replace each worker after this many requests (plus up to the jitter, so they
# do not all restart at once): bounds the growth of any slow memory leak. Each
# replacement costs about half a CPU second of imports and then a cold start
# (its connections, its first requests): at 1,000 that was 1.4 ms of web CPU per
# API order in `make bench` (B3), so the default is 10,000 (docs/decisions.md).
max_requests = env.int("WEB_MAX_REQUESTS", default=10000)
max_requests_jitter = env.int("WEB_MAX_REQUESTS_JITTER", default=1000)
# Proxies whose X-Forwarded-Proto gunicorn believes (comma separated IPs or
# networks; "*" when only the proxy can reach this port). Django itself reads
# the header through SECURE_PROXY_SSL_HEADER; TRUSTED_PROXY covers the client IP.
forwarded_allow_ips = env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1,::1")
# The heartbeat file lives in memory: a slow disk must not look like a hung worker.
if Path("/dev/shm").is_dir():  # noqa: S108 - gunicorn's documented choice
    worker_tmp_dir = "/dev/shm"  # noqa: S108
# The process manager (Procfile, systemd) restarts us; no control socket under
# $HOME, which every gunicorn on the machine would share.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Each worker's database pool holds what its threads can use: `threads`,
    at most DB_POOL_MAX_SIZE (config/db_pool.py)."""
    from config.db_pool import database_pool_fit

    database_pool_fit(
        threads=worker.cfg.threads, process=f"gunicorn worker {worker.pid}"
    )


# --- Logs -------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in LOG_FORMATS:
    raise RuntimeError(f"LOG_FORMAT={LOG_FORMAT}: use one of {', '.join(LOG_FORMATS)}")
loglevel = env.str("LOG_LEVEL", default="INFO").lower()
accesslog = "-"
# The path only (never the query string), with secret segments redacted; the
# JSON formatter turns the same facts into fields.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class RedactingLogger(glogging.Logger):
    """gunicorn's logger whose access atoms carry no secret: the order page's
    token and password reset tokens are replaced (config.logs.redact_path), and
    the raw request line, query string, headers and environ atoms are dropped."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms = {key: value for key, value in atoms.items() if len(key) == 1}
        atoms["U"] = redact_path(atoms.get("U") or "")
        atoms["r"] = f"{atoms.get('m')} {atoms['U']} {atoms.get('H')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        return atoms


logger_class = RedactingLogger


def _logconfig_dict() -> dict:
    """The app's logging (same format, same handler), plus gunicorn's loggers:
    errors through the app's console handler, access lines to stdout."""
    config = logging_config(fmt=LOG_FORMAT, level=loglevel.upper())
    config["handlers"]["access"] = {
        "class": "logging.StreamHandler",
        "formatter": LOG_FORMAT,
        "filters": ["redact_paths"],
        "stream": "ext://sys.stdout",
    }
    config["loggers"].update(
        {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["console"],
                "propagate": False,
            },
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["access"],
                "propagate": False,
            },
        }
    )
    return config


logconfig_dict = _logconfig_dict()
