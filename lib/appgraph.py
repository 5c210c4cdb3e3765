"""Which of the project's apps import which, and whether that graph has a cycle.

`make graph` (python -m lib.appgraph) prints every import from one app into
another with the line that makes it, then the cycles. Every import counts:
module level, inside a function, and under `if TYPE_CHECKING:` alike, since
each is a dependency a reader has to hold in mind. Migrations are left out
(Django orders them by their own graph).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# The project's Django apps, as INSTALLED_APPS names them (lib/ and config/ are
# not apps: lib imports no app, config is the project that wires them).
APPS = (
    "accounts",
    "products",
    "orders",
    "downloads",
    "emails",
    "fulfillment",
    "keylists",
    "web",
)


@dataclass(frozen=True)
class Import:
    source: str  # importing app
    target: str  # imported app
    where: str  # "path:line"
    module: str  # the imported module


def _imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
    return found


def app_imports(root: Path, apps: tuple[str, ...] = APPS) -> list[Import]:
    """Every import of one app's module by another app's module under `root`."""
    imports = []
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            for module, line in _imported_modules(ast.parse(path.read_text())):
                target = module.split(".")[0]
                if target in apps and target != app:
                    where = f"{path.relative_to(root)}:{line}"
                    imports.append(Import(app, target, where, module))
    return imports


def cycles(imports: list[Import]) -> list[list[str]]:
    """The graph's cycles, each once, as app lists starting at its smallest name."""
    edges: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        edges[item.source].add(item.target)
    found: set[tuple[str, ...]] = set()

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges[path[-1]]):
            if nxt == path[0]:
                found.add(_rotated(path))
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(edges):
        walk([start])
    return [list(cycle) for cycle in sorted(found)]


def _rotated(path: list[str]) -> tuple[str, ...]:
    first = path.index(min(path))
    return tuple(path[first:] + path[:first])


def report(root: Path) -> tuple[str, bool]:
    """The printed report, and whether the graph is free of cycles."""
    imports = app_imports(root)
    by_edge: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for item in imports:
        by_edge[(item.source, item.target)].append(item)
    lines = []
    for (source, target), items in sorted(by_edge.items()):
        lines.append(f"{source} -> {target} ({len(items)})")
        lines += [f"    {item.where}  {item.module}" for item in items]
    found = cycles(imports)
    lines.append("")
    if found:
        lines.append(f"{len(found)} cycle(s):")
        lines += ["    " + " -> ".join([*cycle, cycle[0]]) for cycle in found]
    else:
        lines.append("No cycle: every import between apps goes one way.")
    return "\n".join(lines), not found


def main() -> int:
    text, acyclic = report(Path(__file__).resolve().parents[1])
    print(text)
    return 0 if acyclic else 1


if __name__ == "__main__":
    sys.exit(main())
