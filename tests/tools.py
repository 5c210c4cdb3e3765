"""External programs some tests drive: Node, PHP, Chromium.

Locally a missing program skips those tests with the reason and the command that
installs it. `.ci/run` sets REQUIRE_TOOLS=1 (and REQUIRE_SERVICES=1 on its second
pass) after installing them, so there a missing program fails instead.
"""

from __future__ import annotations

import os

import pytest


def tools_required() -> bool:
    return "1" in (os.environ.get("REQUIRE_TOOLS"), os.environ.get("REQUIRE_SERVICES"))


def skip_or_fail(reason: str) -> None:
    """Skip with `reason`, or fail when CI promised the tool is installed."""
    if tools_required():
        pytest.fail(f"REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)
