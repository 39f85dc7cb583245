"""``hoso report`` and ``hoso sla`` against the test database (committed data only)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app
from core.db import transaction
from core.settings import Settings, get_settings
from tests.core.sla.helpers import build_day


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_hoso_report_writes_the_months_pdf(
    runner: CliRunner, committing: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    with transaction(committing) as session:
        world = build_day(session, settings)
        post_office = world.post_office.name
    out = tmp_path / "report.pdf"
    result = runner.invoke(app, ["report", "--month", "2026-11", "--province", "24",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    pdf = pypdfium2.PdfDocument(str(out))
    text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "BÁO CÁO CHẤT LƯỢNG DỊCH VỤ" in text and "Tháng 11 năm 2026" in text
    assert "Lấy hồ sơ đúng khung giờ hẹn" in text and post_office in text
    assert "Tại quầy:" in text
    # For a person to look at, beside the browser tests' screenshots.
    screens = Path(__file__).resolve().parents[3] / "test-artifacts" / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    for i in range(min(2, len(pdf))):
        pdf[i].render(scale=1.5).to_pil().save(screens / f"sla_monthly_report_p{i + 1}.png")
    pdf.close()
    bad = runner.invoke(app, ["report", "--month", "11-2026", "--province", "24",
                              "--out", str(tmp_path / "x.pdf")])  # fmt: skip
    assert bad.exit_code == 2 and "month" in bad.output
    nowhere = runner.invoke(app, ["report", "--month", "2026-11", "--province", "99",
                                  "--out", str(tmp_path / "y.pdf")])  # fmt: skip
    assert nowhere.exit_code == 2 and "province" in nowhere.output


def test_hoso_sla_target_and_refresh(runner: CliRunner) -> None:
    # Hà Nội's: the hand-built days are in Bắc Ninh, whose default target they assume.
    done = runner.invoke(app, ["sla", "target", "door_to_desk", "12", "--province", "01"])
    assert done.exit_code == 0, done.output
    assert "12 hours" in done.output
    wrong = runner.invoke(app, ["sla", "target", "speed", "12", "--province", "01"])
    assert wrong.exit_code == 2 and "target" in wrong.output
    refreshed = runner.invoke(app, ["sla", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
