"""How the driver steers a peer's own processes (placers, limit loops): one JSON
line on stdout when ready, "go" on stdin to start, one JSON line with the
result, then the process waits for stdin to close before it exits, so the
driver reads its CPU time from /proc while it is still there.

`work_split` runs the items of one process on its threads: item i goes to
thread (i - first) // step % threads, as the driver's order placing does.
"""

from __future__ import annotations

import json
import select
import sys
import threading
from collections.abc import Callable

from bench.stack import Proc, StackError

# --- In the peer's process ---------------------------------------------------------


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def wait_go() -> None:
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("bench: the driver did not say go")


def wait_end() -> None:
    sys.stdin.read()


def work_split(
    work: Callable[[int], None],
    *,
    count: int,
    threads: int,
    first: int = 0,
    step: int = 1,
    done: Callable[[], None] = lambda: None,
) -> list[str]:
    """Run work(i) for i in first, first + step, ... < count, spread over
    `threads` threads; `done()` runs at the end of each thread. The errors."""
    errors: list[str] = []
    lock = threading.Lock()
    stride = step * threads

    def run(offset: int) -> None:
        try:
            for i in range(first + offset * step, count, stride):
                try:
                    work(i)
                except Exception as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            done()

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


# --- In the driver -----------------------------------------------------------------


def read(proc: Proc, *, timeout: float) -> dict:
    """The next JSON line the process prints, or a StackError with its log."""
    ready, _, _ = select.select([proc.popen.stdout], [], [], timeout)
    line = proc.popen.stdout.readline() if ready else ""
    if not line:
        raise StackError(
            f"{proc.name}: no answer in {timeout:.0f} s:\n{proc.log_tail()}"
        )
    return json.loads(line)


def go(proc: Proc) -> None:
    proc.popen.stdin.write("go\n")
    proc.popen.stdin.flush()
