"""The faults of the kill scenario, each at a fixed second of the load: SIGKILL a
process and start it again, or empty the broker's Redis database.

Each fault runs in its own thread at its second, so that one slow restart does
not push the next fault back, and returns an `Event`: when it struck and when
the process answered again (a worker's control ping, gunicorn's /healthz).
gunicorn's *master* is killed, not a worker: its orphaned workers notice their
parent is gone within about a second, close the listening socket and finish
the requests of connections still open (a client's kept-alive connection is
served until it idles); once nothing listens, a new master binds the port.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.chaos.deploy import Deployment, redis_url
from bench.stack import broker_flush, children

# (second of the load, what): spaced out after the first 10 s.
SCHEDULE = ((10.0, "fulfillment1"), (17.0, "email"), (24.0, "web"), (31.0, "broker"))
SECOND_KILL = (38.0, "fulfillment2")
ORPHANS_TIMEOUT = 30.0


@dataclass
class Event:
    target: str  # fulfillment1, fulfillment2, email, web, broker
    at: float  # wall clock, when it struck
    back_at: float  # when the process answered again (the flush: when done)
    detail: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "flush" if self.target == "broker" else "kill"

    def as_dict(self, t0: float) -> dict:
        return {
            **asdict(self),
            "kind": self.kind,
            "second": round(self.at - t0, 2),
            "back_after_s": round(self.back_at - self.at, 2),
        }


def worker_kill(deployment: Deployment, name: str) -> Event:
    proc = deployment.procs[name]
    at = time.time()
    deployment.stack.kill(proc)
    deployment.worker_restart(name)
    return Event(name, at, time.time(), {"killed_pid": proc.pid})


def web_master_kill(deployment: Deployment) -> Event:
    master = deployment.procs["web"]
    workers = children(master.pid)
    at = time.time()
    deployment.stack.kill(master)
    free = _wait(lambda: _port_free(deployment.web_port), ORPHANS_TIMEOUT, at)
    deployment.web_start()
    back_at = time.time()
    gone = _wait(lambda: not any(map(_alive, workers)), ORPHANS_TIMEOUT, at)
    detail = {
        "killed_pid": master.pid,
        "orphaned_workers": len(workers),
        "port_free_after_s": free,
        "orphans_exited_after_s": gone,
    }
    return Event("web", at, back_at, detail)


def _port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (bound as gunicorn binds it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, timeout: float, since: float) -> float | None:
    """Seconds from `since` until `condition()` held, or None after `timeout`."""
    while time.time() - since < timeout:
        if condition():
            return round(time.time() - since, 2)
        time.sleep(0.05)
    return None


def broker_flush_now() -> Event:
    at = time.time()
    broker_flush(redis_url())
    return Event("broker", at, time.time())


def fault(deployment: Deployment, target: str) -> Event:
    if target == "broker":
        return broker_flush_now()
    if target == "web":
        return web_master_kill(deployment)
    return worker_kill(deployment, target)


class Faults:
    """Strikes each fault of `schedule` at t0 + its second, each in its own
    thread; `join` waits for all of them, restarts included."""

    def __init__(self, deployment: Deployment, schedule, t0: float) -> None:
        self.deployment, self.t0 = deployment, t0
        self.events: list[Event] = []
        self.errors: list[str] = []
        self.threads = [
            threading.Timer(max(0.0, t0 + second - time.time()), self._strike, [target])
            for second, target in schedule
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()
        self.events.sort(key=lambda event: event.at)

    def _strike(self, target: str) -> None:
        try:
            event = fault(self.deployment, target)
        except Exception as exc:  # reported with the run's figures, not lost
            self.errors.append(f"{target}: {exc!r}")
            return
        self.events.append(event)
        print(
            f"[chaos] {event.kind} {target} at {event.at - self.t0:.1f} s, "
            f"back after {event.back_at - event.at:.1f} s",
            file=sys.stderr,
            flush=True,
        )
