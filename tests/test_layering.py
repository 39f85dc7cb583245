"""Arrows only point down: core knows no HTTP; routing and labels know no core; vntime, which
all of them may import, knows nothing of the project."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "core": ("fastapi", "starlette", "api", "mobile_api", "jinja2"),
    "routing": ("core", "api", "mobile_api", "labels", "fastapi", "sqlalchemy"),
    "labels": ("core", "api", "mobile_api", "routing", "fastapi", "sqlalchemy"),
    # Vietnam's time zone, imported by every layer (routing and labels too), imports none.
    "vntime": ("core", "api", "mobile_api", "routing", "labels", "fastapi", "sqlalchemy"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            for banned in FORBIDDEN[package]:
                prefix = banned.rstrip(".")
                if name == prefix or name.startswith(prefix + "."):
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    assert _violations(package) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # Guard against a check that cannot fail: the parser must see both import forms.
    sample = tmp_path / "sample.py"
    sample.write_text("import fastapi\nfrom core.db import Base\n", encoding="utf-8")
    assert _imports(sample) == ["fastapi", "core.db"]
