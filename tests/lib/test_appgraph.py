"""`make graph` finds every import between apps, and the cycles they make."""

from __future__ import annotations

from pathlib import Path

from lib.appgraph import app_imports, cycles, report

APPS = ("alpha", "beta", "gamma")


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_imports_in_functions_and_for_type_checking_count_too(tmp_path):
    root = _tree(
        tmp_path,
        {
            "alpha/services.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from beta.models import Thing\n"
                "def f():\n    import gamma.tasks\n"
            ),
            "alpha/migrations/0001_initial.py": "import beta.models\n",
            "beta/models.py": "from alpha import services\nimport os\n",
        },
    )

    found = {(i.source, i.target, i.where) for i in app_imports(root, APPS)}

    assert found == {
        ("alpha", "beta", "alpha/services.py:3"),
        ("alpha", "gamma", "alpha/services.py:5"),
        ("beta", "alpha", "beta/models.py:1"),
    }


def test_a_cycle_through_three_apps_is_named_once(tmp_path):
    root = _tree(
        tmp_path,
        {
            "alpha/a.py": "import beta.b\n",
            "beta/b.py": "import gamma.c\n",
            "gamma/c.py": "from alpha import a\n",
        },
    )

    assert cycles(app_imports(root, APPS)) == [["alpha", "beta", "gamma"]]


def test_a_one_way_graph_has_no_cycle(tmp_path):
    root = _tree(
        tmp_path,
        {"beta/b.py": "import alpha.a\n", "gamma/c.py": "import beta.b, alpha.a\n"},
    )

    assert cycles(app_imports(root, APPS)) == []


def test_the_report_lists_each_edge_with_its_lines(tmp_path):
    root = _tree(tmp_path, {"products/views.py": "\nfrom orders import models\n"})
    (root / "orders").mkdir()

    text, acyclic = report(root)

    assert "products -> orders (1)\n    products/views.py:2  orders" in text
    assert acyclic


def test_the_project_apps_import_one_way():
    """products ← orders ← emails ← fulfillment ← web: what `make graph` shows."""
    imports = app_imports(Path(__file__).resolve().parents[2])

    assert imports  # the walk found the project's apps at all
    assert cycles(imports) == []


def test_other_apps_reach_fulfillment_through_its_services_models_and_selectors():
    public = ("fulfillment.services", "fulfillment.models", "fulfillment.selectors")
    imports = app_imports(Path(__file__).resolve().parents[2])

    into = [i for i in imports if i.target == "fulfillment"]
    assert into
    assert [i.where for i in into if not i.module.startswith(public)] == []


def test_the_graph_knows_every_app_of_the_project(settings):
    from django.apps import apps

    from lib.appgraph import APPS as PROJECT_APPS

    ours = [
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR)
        and "site-packages" not in Path(config.path).parts
    ]
    assert sorted(PROJECT_APPS) == sorted(ours)


def test_the_project_has_no_cycle_between_its_apps():
    from lib.appgraph import APPS as PROJECT_APPS

    root = Path(__file__).resolve().parents[2]
    assert cycles(app_imports(root, PROJECT_APPS)) == []


def test_the_type_checker_reads_every_app():
    import tomllib

    from lib.appgraph import APPS as PROJECT_APPS

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    checked = set(config["tool"]["mypy"]["files"])
    assert set(PROJECT_APPS) <= checked
