"""Where the CPU went during a run: seconds per component, from /proc.

Each component is a set of processes (all their threads); PostgreSQL is every
`postgres` process plus the backends that exited during the run (counted in the
postmaster's reaped-children time). The machine's busy time comes from
/proc/stat, so "others" is what processes outside the benchmark took: on a
shared machine, that says how much the figures were disturbed.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after "pid (comm)"; the command may contain spaces and parentheses.
    return text.rsplit(")", 1)[1].split()


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _seconds(pid: int, *, reaped: bool = False) -> float:
    fields = _fields(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 here.
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def _postgres_seconds() -> float:
    pids = [pid for pid in _pids() if _comm(pid) == "postgres"]
    total = 0.0
    for pid in pids:
        fields = _fields(pid)
        is_postmaster = fields is not None and int(fields[1]) not in pids
        total += _seconds(pid, reaped=is_postmaster)
    return total


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    busy = sum(values[:8]) - values[3] - values[4]
    return busy / TICK


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _pids():
        fields = _fields(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_seconds(root: int) -> float:
    """CPU seconds so far of a process and its descendants, those that exited
    (and were reaped) included: gunicorn's workers, replaced after
    `max_requests`, count too."""
    return _seconds(root, reaped=True) + sum(
        _seconds(pid, reaped=True) for pid in _descendants(root)
    )


def step_snapshot() -> dict[str, float]:
    """CPU seconds so far of the benchmark (this process, every process it
    started, those that exited included), PostgreSQL, Redis, the machine."""
    root = os.getpid()
    values = snapshot({"benchmark": [root]})
    values["benchmark"] = tree_seconds(root)
    return values


def step_disturbance(before: dict[str, float], after: dict[str, float]) -> dict:
    """How much CPU processes outside the benchmark took during a step."""
    spent = {name: after[name] - before[name] for name in before}
    machine = spent.pop("machine")
    others = max(0.0, machine - sum(spent.values()))
    return {
        "machine_busy_seconds": round(machine, 1),
        "others_seconds": round(others, 1),
        "others_share": round(others / machine, 3) if machine > 0 else 0.0,
    }


def snapshot(
    components: dict[str, list[int]], trees: dict[str, int] | None = None
) -> dict[str, float]:
    """CPU seconds used so far by each component (lists of pids, or the process
    tree under a root pid), PostgreSQL, Redis and the whole machine."""
    redis = [pid for pid in _pids() if _comm(pid) == "redis-server"]
    values = {
        name: sum(_seconds(pid) for pid in pids) for name, pids in components.items()
    }
    values.update({name: tree_seconds(root) for name, root in (trees or {}).items()})
    values["postgresql"] = _postgres_seconds()
    values["redis"] = sum(_seconds(pid) for pid in redis)
    values["machine"] = _machine_busy_seconds()
    return values


def usage(before: dict[str, float], after: dict[str, float], *, per: int) -> dict:
    """CPU seconds per component between two snapshots, "others" (the machine
    less every component) and milliseconds per item (`per` items)."""
    spent = {name: after[name] - before[name] for name in before}
    machine = spent.pop("machine")
    spent["others"] = machine - sum(spent.values())
    return {
        "cpu_seconds": {k: round(v, 2) for k, v in spent.items()},
        "machine_busy_seconds": round(machine, 2),
        "cpu_ms_per_item": {k: round(v * 1000 / per, 2) for k, v in spent.items()},
    }
