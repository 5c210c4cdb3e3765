"""The processes and services of a benchmark run: start them, wait until they are
ready, stop every one of them, whatever happens.

Each process runs in its own session (process group), so the driver's Ctrl-C
does not reach it half-way and `Stack.close()` can stop the whole group: SIGTERM,
then SIGKILL for anything still there after a few seconds (a celery worker's warm
shutdown would wait for a webhook hanging 15 s; its cold one, SIGQUIT, crashes
the thread pool in Celery 5.x, "does not implement kill_job").
Output goes to one log file per process under bench/results/logs/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import environ
import psycopg
import redis
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
CELERY_FLAGS = ["--without-gossip", "--without-mingle", "--without-heartbeat"]


class StackError(RuntimeError):
    """A service or process the benchmark needs is not there; says what to do."""


# --- Services -------------------------------------------------------------------


def _pg_params(url: str) -> dict:
    conf = environ.Env.db_url_config(url)
    if not conf["ENGINE"].endswith("postgresql"):
        raise StackError(f"BENCH_DATABASE_URL must be a postgres:// URL, not {url!r}")
    return {
        "host": conf["HOST"] or "127.0.0.1",
        "port": conf["PORT"] or 5432,
        "user": conf["USER"] or None,
        "password": conf["PASSWORD"] or None,
        "dbname": conf["NAME"],
    }


def pg_dbname(url: str) -> str:
    return _pg_params(url)["dbname"]


def pg_connect(url: str, *, dbname: str | None = None) -> psycopg.Connection:
    """An autocommit connection to the database at `url` (or to `dbname` on the
    same server), as the URL's user."""
    params = {**_pg_params(url), **({"dbname": dbname} if dbname else {})}
    return psycopg.connect(**params, connect_timeout=3, autocommit=True)


def _pg_admin(url: str) -> psycopg.Connection:
    try:
        return pg_connect(url, dbname="postgres")
    except psycopg.Error as exc:
        params = _pg_params(url)
        raise StackError(
            f"PostgreSQL is unreachable at {params['host']}:{params['port']} ({exc})."
            " Start it, or set BENCH_DATABASE_URL=postgres://user@host:port/db."
        ) from exc


def _redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise StackError(
            f"Redis is unreachable at {url} ({exc}). Start it, or set "
            "BENCH_BROKER_URL=redis://host:port/db (a database the benchmark may "
            "flush)."
        ) from exc
    return client


# A database whose name holds one of these may be dropped without --force-drop.
SCRATCH_MARKERS = ("bench", "chaos")


def database_recreate(url: str, *, force: bool = False) -> None:
    """Drop and create a run's database. Refuses a name without "bench" or
    "chaos" unless forced: this deletes everything in it."""
    name = _pg_params(url)["dbname"]
    if not any(marker in name for marker in SCRATCH_MARKERS) and not force:
        raise StackError(
            f"Refusing to drop database {name!r}: its name contains neither "
            "'bench' nor 'chaos'. Point the run at a scratch database, or pass "
            "--force-drop."
        )
    with _pg_admin(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def broker_flush(url: str) -> None:
    """Empty the broker's Redis database: queued messages, counters, cache."""
    _redis(url).flushdb()


def services_check(database_url: str, broker_url: str) -> dict[str, str]:
    """Fail with a clear message unless both services answer; their versions."""
    with _pg_admin(database_url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    info = _redis(broker_url).info("server")
    return {"postgresql": postgres, "redis": info["redis_version"]}


# --- Processes ------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    """Every process this run started. Use as a context manager."""

    def __init__(self, *, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.procs: list[Proc] = []
        # Killed on purpose; their process groups may still hold children
        # (gunicorn's workers outlive a killed master for a moment).
        self.killed: list[Proc] = []
        self.starts: Counter[str] = Counter()
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        stdout_pipe: bool = False,
        stdin_pipe: bool = False,
    ) -> Proc:
        # A process started again under the same name (a restart after a kill)
        # gets its own log, so the first one's lines are kept.
        self.starts[name] += 1
        suffix = f"-{self.starts[name]}" if self.starts[name] > 1 else ""
        log = self.log_dir / f"{name}{suffix}.log"
        with log.open("w") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own commands, no shell
                cmd,
                cwd=ROOT,
                env=env or self.env,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout_pipe else out,
                stderr=out,
                start_new_session=True,
                text=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = 5.0) -> None:
        if proc in self.procs:
            self.procs.remove(proc)
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.popen.wait()
        # The group may hold children that outlived their parent.
        _signal_group(proc, signal.SIGKILL)
        for pipe in (proc.popen.stdout, proc.popen.stdin):
            if pipe:
                with contextlib.suppress(OSError):
                    pipe.close()

    def stop_all(self, procs: list[Proc] | None = None) -> None:
        targets = list(self.procs if procs is None else procs)
        for proc in targets:
            _signal_group(proc, signal.SIGTERM)
        for proc in targets:
            self.stop(proc)

    def kill(self, proc: Proc) -> None:
        """SIGKILL the process itself, not its group: what a crash or the OOM
        killer does. Children it leaves behind are on their own."""
        if proc in self.procs:
            self.procs.remove(proc)
        self.killed.append(proc)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.popen.wait()

    def close(self) -> None:
        self.stop_all()
        for proc in self.killed:
            _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: Proc, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def wait_ready(proc: Proc, check, *, timeout: float, what: str) -> None:
    """Poll `check()` until true; a process that dies or a timeout is an error
    that shows the end of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise StackError(f"{what} exited:\n{proc.log_tail()}")
        try:
            if check():
                return
        except Exception:  # noqa: S110 - not up yet; the deadline decides
            pass
        time.sleep(0.2)
    raise StackError(f"{what} not ready after {timeout:.0f} s:\n{proc.log_tail()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The benchmark's processes ----------------------------------------------------


def json_line_start(stack: Stack, name: str, cmd: list[str]) -> Proc:
    """A process that prints one JSON line once it listens (a seller server);
    that line becomes `proc.info`."""
    proc = stack.start(name, cmd, stdout_pipe=True)
    ready, _, _ = select.select([proc.popen.stdout], [], [], 30)
    line = proc.popen.stdout.readline() if ready else ""
    if not line:
        raise StackError(f"{name} did not start:\n{proc.log_tail()}")
    proc.info = json.loads(line)
    return proc


def seller_start(stack: Stack, kind: str, *, ports: int = 1, hang: float = 0) -> Proc:
    """A seller server process (bench/seller.py); `proc.info["ports"]`."""
    cmd = [sys.executable, "-m", "bench.seller", kind, "--ports", str(ports)]
    if hang:
        cmd += ["--hang", str(hang)]
    return json_line_start(stack, f"seller-{kind}", cmd)


def worker_start(
    stack: Stack,
    *,
    name: str,
    queues: str,
    concurrency: int,
    app: str = "config",
    env: dict[str, str] | None = None,
) -> Proc:
    """A real `celery worker` process with the thread pool; returns once it answers
    a control ping."""
    hostname = f"{name}@{socket.gethostname()}"
    cmd = [
        sys.executable, "-m", "celery", "-A", app, "worker", "--queues", queues,
        "--hostname", hostname, "--pool", "threads", "--concurrency",
        str(concurrency), *CELERY_FLAGS, "--loglevel", "WARNING",
    ]  # fmt: skip
    proc = stack.start(name, cmd, env=env)
    proc.info = {"hostname": hostname, "pool": "threads", "concurrency": concurrency}
    return proc


def workers_wait(procs: list[Proc], celery_app, *, timeout: float = 90) -> None:
    for proc in procs:
        host = proc.info["hostname"]
        wait_ready(
            proc,
            lambda host=host: celery_app.control.ping(destination=[host], timeout=0.5),
            timeout=timeout,
            what=f"celery worker {host}",
        )


def beat_start(stack: Stack) -> Proc:
    """Celery beat: the dispatcher that re-enqueues due deliveries and emails."""
    cmd = [sys.executable, "-m", "celery", "-A", "config", "beat"]
    cmd += ["--loglevel", "WARNING"]
    proc = stack.start("beat", cmd)
    time.sleep(1.0)
    if not proc.alive():
        raise StackError(f"celery beat exited:\n{proc.log_tail()}")
    return proc


def gunicorn_command(port: int) -> list[str]:
    """The project's production config (workers, threads, timeouts, recycling,
    access log: one line per request, to the log file here), on our port."""
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--config", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip


def gunicorn_start(
    stack: Stack,
    *,
    port: int | None = None,
    command: list[str] | None = None,
    ready_path: str = "/bench/trivial",
    name: str = "gunicorn",
) -> Proc:
    """gunicorn on `port` (a free one by default), ready once `ready_path`
    answers 200; `command` defaults to `gunicorn_command`."""
    port = port or free_port()
    command = command or gunicorn_command(port)
    env = {**stack.env, "PORT": str(port)}
    proc = stack.start(name, command, env=env)
    proc.info = {"port": port, "command": command}
    url = f"http://127.0.0.1:{port}{ready_path}"
    wait_ready(
        proc,
        lambda: requests.get(url, timeout=2).status_code == 200,
        timeout=60,
        what="gunicorn",
    )
    return proc


# --- The Procfile's processes -----------------------------------------------------

PROCFILE = ROOT / "Procfile"
# ${NAME:-default}, as the Procfile writes its tunables.
_PROCFILE_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
# Console scripts the Procfile names; run as modules of this interpreter, so that
# the virtualenv's are used whatever PATH says.
_PROCFILE_MODULES = ("celery", "gunicorn")


def procfile_command(process: str, env: Mapping[str, str]) -> list[str]:
    """The Procfile's command for `process`, as a process manager runs it: each
    ${NAME:-default} expanded from `env` (an empty value takes the default)."""
    for line in PROCFILE.read_text().splitlines():
        name, colon, command = line.partition(":")
        if colon and name.strip() == process:
            words = shlex.split(
                _PROCFILE_VARIABLE.sub(lambda m: env.get(m[1]) or m[2] or "", command)
            )
            if words[0] in _PROCFILE_MODULES:
                return [sys.executable, "-m", *words]
            return [sys.executable if words[0] == "python" else words[0], *words[1:]]
    raise StackError(f"The Procfile has no process {process!r}")


def option_set(cmd: list[str], option: str, value: str) -> list[str]:
    """`cmd` with `option`'s value replaced, or the option added."""
    if option not in cmd:
        return [*cmd, option, value]
    at = cmd.index(option)
    return [*cmd[: at + 1], value, *cmd[at + 2 :]]


def procfile_worker_start(stack: Stack, process: str, *, name: str) -> Proc:
    """A Celery process of the Procfile (a worker or beat), logged as `name`. A
    worker is named `name@%h` instead of the Procfile's `process@%h`, so that
    several of one kind can run on a machine, as docs/deploy.md asks."""
    cmd = procfile_command(process, stack.env)
    info = {"command": cmd}
    if "--hostname" in cmd:
        cmd = option_set(cmd, "--hostname", f"{name}@%h")
        info = {"command": cmd, "hostname": f"{name}@{socket.gethostname()}"}
    proc = stack.start(name, cmd)
    proc.info = info
    return proc


# --- Memory -----------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The parent pid is the second field after the command's parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def memory(pid: int) -> dict:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process and of each of
    its child processes (a prefork pool's), in MiB."""

    def mib(kib: int | None) -> float | None:
        return round(kib / 1024, 1) if kib is not None else None

    return {
        "pid": pid,
        "peak_rss_mib": mib(_status_kib(pid, "VmHWM")),
        "rss_mib": mib(_status_kib(pid, "VmRSS")),
        "threads": _status_kib(pid, "Threads"),
        "children": [memory(child) for child in children(pid)],
    }
