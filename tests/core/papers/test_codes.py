"""A recorded agency dossier code must make sense for the office and the dossier."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.catalogue.access import CatalogueScope
from core.catalogue.service import import_file
from core.custody.parties import party
from core.errors import InvalidInput
from core.identity.models import User
from core.identity.service import actor_for
from core.papers.codes import record_dossier_code
from core.places.models import Commune, Office
from core.settings import Settings
from tests.core.catalogue.helpers import csv_bytes
from tests.core.papers.helpers import NOW, appointment
from tests.factories import make_case, make_office, make_user
from tests.journey import hand_to_office


def _at_desk(
    db: Session, settings: Settings, office: Office, **overrides: Any
) -> tuple[Case, User]:
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier")
    case = make_case(db, settings, office=office, **overrides)
    hand_to_office(db, case, courier, desk)
    return case, desk


def _record(
    db: Session, settings: Settings, case: Case, desk: User, code: str,
    due: date | None = None, now: datetime = NOW,
) -> None:  # fmt: skip
    record_dossier_code(db, settings, case, code, due, actor=actor_for(desk),
                        recorded_by="Cán bộ", source="desk", now=now)  # fmt: skip


def _code(case: Case, agency: str = "000.P2.24.H05", day: date | None = None) -> str:
    """A code unique to the case: committed tests share the database's codes."""
    return f"{agency}-{(day or NOW.date()):%y%m%d}-{case.id % 10000:04d}"


def test_a_ha_noi_code_is_refused_for_a_bac_ninh_office(db: Session, settings: Settings) -> None:
    case, desk = _at_desk(db, settings, make_office(db))  # province 24, Bắc Ninh
    with pytest.raises(InvalidInput) as caught:
        _record(db, settings, case, desk, _code(case, "000.A0.01.H26"))
    assert caught.value.field == "agency_dossier_code" and "H26" in caught.value.detail
    _record(db, settings, case, desk, _code(case), due=appointment(10))
    assert case.agency_dossier_code == _code(case)


@pytest.mark.parametrize(
    ("days_before_now", "accepted"),
    [(-1, False), (0, True), (29, True), (31, False), (400, False)],
)
def test_the_code_date_is_neither_future_nor_long_before_the_hand_over(
    db: Session, settings: Settings, days_before_now: int, accepted: bool
) -> None:
    # The hand-over happened "now" (the ledger's clock): the code's date is checked against it.
    now = NOW
    case, desk = _at_desk(db, settings, make_office(db))
    day = (now - timedelta(days=days_before_now)).date()
    code = _code(case, day=day)
    if accepted:
        _record(db, settings, case, desk, code, now=now)
    else:
        with pytest.raises(InvalidInput) as caught:
            _record(db, settings, case, desk, code, now=now)
        assert caught.value.field == "agency_dossier_code"


def test_each_office_has_its_own_codes_and_other_provinces_known_codes_are_refused(
    db: Session, settings: Settings
) -> None:
    configured = make_office(db, agency_codes=["H27"])
    case, desk = _at_desk(db, settings, configured)
    with pytest.raises(InvalidInput, match="H05"):
        _record(db, settings, case, desk, _code(case))
    _record(db, settings, case, desk, _code(case, "000.00.24.H27"))

    # An office in a province without known codes (Huế): another province's code is refused,
    # an unknown one accepted.
    hue = db.get(Commune, "19813")
    assert hue is not None
    elsewhere = make_office(db, province_code=hue.province_code, commune_code=hue.code)
    case, desk = _at_desk(db, settings, elsewhere, commune_code=hue.code, lat=hue.lat,
                          lon=hue.lon, address_text="Phường Thủy Xuân, Huế")  # fmt: skip
    with pytest.raises(InvalidInput, match="another province") as other:
        _record(db, settings, case, desk, _code(case, "000.00.24.H27"))
    # The page reads it in Vietnamese from the catalogue (edge.texts): "… của tỉnh khác."
    assert (other.value.field, other.value.reason) == (
        "agency_dossier_code", "papers.agency_other_province",
    )  # fmt: skip
    _record(db, settings, case, desk, _code(case, "000.00.00.H33"))


def test_the_catalogue_sets_an_office_s_codes(db: Session) -> None:
    header = ["code", "province_code", "commune_code", "kind", "name_vi", "address",
              "agency_codes"]  # fmt: skip
    row = ["T-CODES", "24", "09187", "xã", "Bộ phận một cửa thử", "Kinh Bắc"]
    scope = CatalogueScope.everything()
    good = import_file(db, "offices", csv_bytes([header, [*row, "h27, H28"]]), scope)
    assert good.errors == []
    office = db.query(Office).filter_by(code="T-CODES").one()
    assert office.agency_codes == ["H27", "H28"]
    bad = import_file(db, "offices", csv_bytes([header, [*row, "27"]]), scope, dry_run=True)
    assert [(e.line, e.column) for e in bad.errors] == [(2, "agency_codes")]
    assert "QCVN 102" in bad.errors[0].reason_vi
    assert party("office", office.id).startswith("office:")
