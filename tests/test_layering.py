"""Arrows only point down: core knows no HTTP; routing and labels know no core; vntime, which
all of them may import, knows nothing of the project; the edges (api, mobile_api) share the
kit in edge/ and do not import each other (api/app.py, which assembles the app, excepted)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "core": ("fastapi", "starlette", "api", "mobile_api", "edge", "jinja2"),
    "routing": ("core", "api", "mobile_api", "edge", "labels", "fastapi", "sqlalchemy"),
    "labels": ("core", "api", "mobile_api", "edge", "routing", "fastapi", "sqlalchemy"),
    # Vietnam's time zone, imported by every layer (routing and labels too), imports none.
    "vntime": ("core", "api", "mobile_api", "edge", "routing", "labels", "fastapi", "sqlalchemy"),
    # The two HTTP edges share the kit in edge/ and never import each other ...
    "edge": ("api", "mobile_api"),
    "mobile_api": ("api",),
    "api": ("mobile_api",),
}
# ... except where the one ASGI app is assembled: api/app.py mounts the phones' router.
ALLOWED = {("api/app.py", "mobile_api")}


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
                where = str(path.relative_to(ROOT))
                hit = name == prefix or name.startswith(prefix + ".")
                if hit and (where, prefix) not in ALLOWED:
                    found.append(f"{where} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    assert _violations(package) == []


def test_the_one_allowed_edge_to_edge_import_is_the_app_assembly() -> None:
    # The allowance is used (api/app.py mounts the phones' router) and is the only one.
    assert ALLOWED == {("api/app.py", "mobile_api")}
    assert "mobile_api" in _imports(ROOT / "api" / "app.py")


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # Guard against a check that cannot fail: the parser must see both import forms.
    sample = tmp_path / "sample.py"
    sample.write_text("import fastapi\nfrom core.db import Base\n", encoding="utf-8")
    assert _imports(sample) == ["fastapi", "core.db"]


# -- no circles between core's parts ---------------------------------------------------------
# A part is a subpackage of core (core.custody) or a module at core's top (core.cli). Imports
# inside functions count: deferring an import hides a circle from Python, not from a reader.


def _core_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2:
        return None
    here = ROOT / "core" / parts[1]
    return f"core.{parts[1]}" if here.is_dir() or here.with_suffix(".py").exists() else None


def _imported_modules(path: Path, package: str) -> list[str]:
    """Every module an import in ``path`` (a module of ``package``) may name, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def _core_arrows() -> dict[str, dict[str, set[str]]]:
    """part -> imported part -> the files that make the arrow."""
    arrows: dict[str, dict[str, set[str]]] = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        dotted = path.relative_to(ROOT).with_suffix("").parts
        source = _core_part(".".join(dotted))
        if source is None:
            continue
        for name in _imported_modules(path, ".".join(dotted[:-1])):
            target = _core_part(name)
            if target is not None and target != source:
                files = arrows.setdefault(source, {}).setdefault(target, set())
                files.add(str(path.relative_to(ROOT)))
    return arrows


def _circles(arrows: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one part (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in arrows.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(arrows):
        if node not in index:
            visit(node)
    return sorted(found)


def test_core_parts_import_no_circle() -> None:
    arrows = _core_arrows()
    circles = _circles(arrows)
    evidence = [
        f"{a} -> {b}: {sorted(arrows[a][b])}"
        for group in circles
        for a in group
        for b in group
        if b in arrows.get(a, {})
    ]
    assert circles == [], evidence


def test_the_circle_check_sees_a_circle(tmp_path: Path) -> None:
    # Guard against a check that cannot fail: a deferred import still makes an arrow, and a
    # circle through three parts is found as one group.
    sample = tmp_path / "sample.py"
    sample.write_text("def late() -> None:\n    from ..cli import app\n", encoding="utf-8")
    assert [_core_part(n) for n in _imported_modules(sample, "core.agency")] == ["core.cli"] * 2
    arrows = {"core.a": ["core.b"], "core.b": ["core.c"], "core.c": ["core.a"], "core.d": []}
    assert _circles(arrows) == [["core.a", "core.b", "core.c"]]
    assert _circles({"core.a": ["core.b"], "core.b": []}) == []
