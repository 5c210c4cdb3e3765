"""lib/ knows nothing of Django or of our apps: each of its modules imports only
the standard library, third-party packages that are not Django, and lib itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib"
FORBIDDEN = (
    "django",
    "accounts",
    "config",
    "downloads",
    "emails",
    "fulfillment",
    "orders",
    "products",
)


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


MODULES = sorted(p for p in LIB.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_a_lib_module_imports_no_django_and_no_app(path):
    imported = _imported(path)

    assert imported  # the walk found the module's imports at all
    assert [n for n in imported if n.split(".")[0] in FORBIDDEN] == []
