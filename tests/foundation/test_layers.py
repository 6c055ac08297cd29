"""The packages' layers, read from their import statements: no cycles, tools sit on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each package must never import (directly, at any depth of its own modules).
FORBIDDEN = {
    "signing": {"storage", "dispatcher", "receiver", "hooksim", "loadtest", "endpoint_check"},
    "storage": {"dispatcher", "receiver", "hooksim", "loadtest", "endpoint_check"},
    "dispatcher": {"receiver", "hooksim", "loadtest", "endpoint_check"},
    "receiver": {"dispatcher", "hooksim", "loadtest", "endpoint_check"},
    "loadtest": {"receiver", "hooksim", "endpoint_check"},
    "endpoint_check": {"receiver", "hooksim", "loadtest"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package: str) -> None:
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in (ROOT / package).rglob("*.py")
             for name in imported_packages(path) & FORBIDDEN[package]}
    assert not wrong, sorted(wrong)


def test_no_test_imports_another_folders_conftest() -> None:
    # A conftest is its own folder's; what folders share lives in a module under tests/
    # (tests/webhooks.py, tests/endpoints.py, tests/dispatchers.py).
    wrong = set()
    for path in (ROOT / "tests").rglob("*.py"):
        own = ".".join(path.parent.relative_to(ROOT).parts) + ".conftest"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.endswith(".conftest") and node.module != own):
                wrong.add(f"{path.relative_to(ROOT)} imports {node.module}")
    assert not wrong, sorted(wrong)
