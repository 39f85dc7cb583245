"""Vietnam's time zone is made once, in ``vntime``; everything else imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import vntime

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "api", "mobile_api", "routing", "labels", "bench")
ZONE_NAMES = {"Asia/Ho_Chi_Minh", "Asia/Saigon", "+07:00", "+0700", "UTC+7", "UTC+07:00"}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _makes_the_zone(node: ast.AST) -> bool:
    """A zone or offset built by hand: ``timezone(...)``, ``ZoneInfo(...)``, ``timedelta(hours=7)``,
    or the zone's name or offset as a whole string."""
    if isinstance(node, ast.Call):
        if _called(node) in ("timezone", "ZoneInfo"):
            return True
        if _called(node) == "timedelta":
            hours = [k.value for k in node.keywords if k.arg == "hours"]
            return any(isinstance(h, ast.Constant) and h.value == 7 for h in hours)
    return isinstance(node, ast.Constant) and node.value in ZONE_NAMES


def _zone_makers(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if _makes_the_zone(node) and hasattr(node, "lineno")
    ]


def test_only_vntime_makes_the_vietnam_time_zone() -> None:
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
             for hit in _zone_makers(p)]  # fmt: skip
    assert found == []


def test_the_check_sees_every_way_of_making_the_zone(tmp_path: Path) -> None:
    # Guard against a check that cannot fail: each form the code base once used is seen.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "VN = timezone(timedelta(hours=7))\n"
        "OFFSET = timedelta(hours=7)\n"
        "Z = ZoneInfo('Asia/Ho_Chi_Minh')\n"
        "S = '+07:00'\n",
        encoding="utf-8",
    )
    tree = ast.parse(sample.read_text(encoding="utf-8"))
    made = sorted({n.lineno for n in ast.walk(tree) if _makes_the_zone(n) and hasattr(n, "lineno")})
    assert made == [1, 2, 3, 4]
    assert vntime.VN.utcoffset(None).total_seconds() == 7 * 3600
    assert _zone_makers(ROOT / "vntime" / "__init__.py") != []  # the one place that makes it
