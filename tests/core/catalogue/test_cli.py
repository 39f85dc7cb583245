"""``hoso seed --province`` and ``hoso catalogue import/export`` against the test database
(committed data: province 96, Cà Mau, which no other test uses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import transaction
from core.places.models import Commune, Office, PostOffice
from core.settings import get_settings
from tests.core.catalogue.helpers import csv_bytes

POST_HEADER = ["code", "province_code", "commune_code", "name", "address", "lat", "lon"]


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("HOSO_LANG", raising=False)
    get_settings.cache_clear()
    return CliRunner()


def _count(factory: sessionmaker[Session], model: type[Office] | type[PostOffice]) -> int:
    with transaction(factory) as session:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.province_code == "96")
            )
            or 0
        )


def test_seed_a_province_then_import_and_export(
    runner: CliRunner, committing: sessionmaker[Session], tmp_path: Path
) -> None:
    seeded = runner.invoke(app, ["seed", "--province", "96"])
    assert seeded.exit_code == 0, seeded.output
    with transaction(committing) as session:
        communes = session.scalar(
            select(func.count()).select_from(Commune).where(Commune.province_code == "96")
        )
    assert communes is not None and communes > 0
    assert f"province 96: {communes} communes, {communes + 1} offices added" in seeded.output
    assert _count(committing, Office) == communes + 1
    again = runner.invoke(app, ["seed", "--province", "96"])
    assert "0 offices added" in again.output
    unknown = runner.invoke(app, ["seed", "--province", "99"])
    assert unknown.exit_code == 2 and "99" in unknown.output

    with transaction(committing) as session:
        code = session.scalars(
            select(Commune.code).where(Commune.province_code == "96").order_by(Commune.code)
        ).first()
    assert code is not None
    bad = tmp_path / "posts.csv"
    bad.write_bytes(csv_bytes([
        POST_HEADER,
        ["CM-T1", "96", code, "Bưu cục thử", "Cà Mau", "", ""],
        ["CM-T2", "96", code, "", "Cà Mau", "", ""],
    ], bom=True))  # fmt: skip
    refused = runner.invoke(app, ["catalogue", "import", "post_offices", str(bad)])
    assert refused.exit_code == 1
    assert "dòng 3, name: Bắt buộc phải điền." in refused.output
    assert _count(committing, PostOffice) == 0
    english = runner.invoke(app, ["catalogue", "import", "post_offices", str(bad)],
                            env={"HOSO_LANG": "en"})  # fmt: skip
    assert "line 3, name: Required." in english.output

    good = tmp_path / "posts-fixed.csv"
    good.write_bytes(csv_bytes([
        POST_HEADER,
        ["CM-T1", "96", code, "Bưu cục thử", "Cà Mau", "", ""],
        ["CM-T2", "96", code, "Bưu cục hai", "Cà Mau", "", ""],
    ]))  # fmt: skip
    dry = runner.invoke(app, ["catalogue", "import", "post_offices", str(good), "--dry-run"])
    assert dry.exit_code == 0 and "sẽ thêm 2" in dry.output and _count(committing, PostOffice) == 0
    done = runner.invoke(app, ["catalogue", "import", "post_offices", str(good)])
    assert done.exit_code == 0 and "đã thêm 2" in done.output
    twice = runner.invoke(app, ["catalogue", "import", "post_offices", str(good)])
    assert "đã thêm 0, sửa 0, giữ nguyên 2" in twice.output
    assert _count(committing, PostOffice) == 2

    out = tmp_path / "out.xlsx"
    exported = runner.invoke(app, ["catalogue", "export", "post_offices", "--province", "96",
                                   "--format", "xlsx", "--output", str(out)])  # fmt: skip
    assert exported.exit_code == 0, exported.output
    back = runner.invoke(app, ["catalogue", "import", "post_offices", str(out)])
    assert "đã thêm 0, sửa 0, giữ nguyên 2" in back.output
    assert runner.invoke(app, ["catalogue", "export", "couriers", "-o", str(out)]).exit_code == 2
