"""labels/ is a pure library: it must not reach up into the app layers."""

from __future__ import annotations

import ast
from pathlib import Path

import labels

# vntime (the time zone) is the one project package labels may import.
FORBIDDEN = {"core", "api", "mobile_api", "edge", "routing", "sqlalchemy", "fastapi"}


def test_labels_imports_nothing_from_the_app_layers() -> None:
    root = Path(labels.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert len(list(root.rglob("*.py"))) >= 10  # the walk really saw the package
