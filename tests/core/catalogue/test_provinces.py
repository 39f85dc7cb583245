"""Standing up any of the 34 provinces, two side by side, and prices as data per province."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.booking.pricing import DEFAULT_TABLE
from core.booking.service import quote_for
from core.catalogue.access import CatalogueScope
from core.catalogue.service import import_file
from core.identity.models import User
from core.places.models import Commune, Office, PriceTier
from core.places.provinces import commune_office_code, province_office_code
from core.seed import seed_province
from core.settings import Settings
from tests.core.catalogue.helpers import csv_bytes
from tests.factories import make_procedure


def _offices(db: Session, province: str) -> list[Office]:
    return list(db.scalars(select(Office).where(Office.province_code == province)))


def test_two_provinces_side_by_side(db: Session) -> None:
    hanoi = seed_province(db, "01")
    cao_bang = seed_province(db, "04")
    for seeded in (hanoi, cao_bang):
        communes = db.scalar(
            select(func.count()).select_from(Commune)
            .where(Commune.province_code == seeded.province_code)
        )  # fmt: skip
        offices = _offices(db, seeded.province_code)
        assert seeded.communes == communes and seeded.offices_added == communes + 1
        assert sorted(o.kind for o in offices).count("province_centre") == 1
        # Every commune has its own centre, inside the same province.
        assert {o.commune_code for o in offices if o.kind == "commune_centre"} == set(
            db.scalars(select(Commune.code).where(
                Commune.province_code == seeded.province_code))
        )  # fmt: skip
        tiers = select(func.count()).select_from(PriceTier)
        tiers = tiers.where(PriceTier.province_code == seeded.province_code)
        assert db.scalar(tiers) == len(DEFAULT_TABLE.tiers)
    hoan_kiem = db.scalars(select(Office).where(Office.code == commune_office_code("00070"))).one()
    assert hoan_kiem.name_vi == "Trung tâm Phục vụ hành chính công phường Hoàn Kiếm"
    assert hoan_kiem.address == "Phường Hoàn Kiếm, thành phố Hà Nội"
    centre = db.scalars(select(Office).where(Office.code == province_office_code("04"))).one()
    assert centre.name_vi == "Trung tâm Phục vụ hành chính công tỉnh Cao Bằng"
    assert centre.province_code == "04"


def test_seeding_again_adds_nothing_and_keeps_an_import(db: Session) -> None:
    seed_province(db, "04")
    code = commune_office_code(_offices(db, "04")[1].commune_code)
    office = db.scalars(select(Office).where(Office.code == code)).one()
    header = ["code", "province_code", "commune_code", "kind", "name_vi", "address", "lat", "lon"]
    fixed = [code, "04", office.commune_code, "commune_centre", office.name_vi,
             "Số 1 đường Hoàng Đình Giong", "22.6657", "106.2577"]  # fmt: skip
    report = import_file(db, "offices", csv_bytes([header, fixed]), CatalogueScope.everything())
    assert report.updated == [code]
    again = seed_province(db, "04")
    assert again.offices_added == 0
    db.refresh(office)
    assert (office.address, office.lat, office.position_source) == (
        "Số 1 đường Hoàng Đình Giong", 22.6657, "surveyed")  # fmt: skip


def test_bac_ninh_keeps_its_reference_offices_and_gains_the_rest(db: Session) -> None:
    seeded = seed_province(db, "24")
    offices = _offices(db, "24")
    centres = {o.commune_code for o in offices if o.kind == "commune_centre"}
    communes = set(db.scalars(select(Commune.code).where(Commune.province_code == "24")))
    assert len(communes) == seeded.communes and centres == communes
    codes = {o.code for o in offices}
    assert {"bn-province-centre", "bn-09187"} <= codes
    # The reference data's provincial centre stands; none is derived beside it.
    assert province_office_code("24") not in codes
    assert commune_office_code("09187") not in codes
    assert seeded.offices_added == len([c for c in codes if c.startswith("ttphcc-")])


def test_a_province_price_table_is_what_its_bookings_are_quoted(
    db: Session, settings: Settings
) -> None:
    seed_province(db, "04")
    office = db.scalars(select(Office).where(Office.code == province_office_code("04"))).one()
    procedure = make_procedure(db, fee_vnd=0)

    def postage() -> int:
        quote, _ = quote_for(db, settings, service_option="send", procedure_id=procedure.id,
                             commune_code=office.commune_code, office_id=office.id)  # fmt: skip
        return quote.total_vnd

    assert postage() == DEFAULT_TABLE.price("same_commune", 100)
    header = ["province_code", "max_grams", "same_commune_vnd", "same_province_vnd",
              "other_province_vnd"]  # fmt: skip
    report = import_file(db, "price_tiers", csv_bytes([header, ["04", "100", "19000", "21000",
                         "30000"]]), CatalogueScope.everything())  # fmt: skip
    assert report.updated == ["04/100"]
    assert postage() == 19000


def test_a_users_province_follows_their_office(db: Session) -> None:
    from core.admin.users import province_of
    from tests.factories import make_user

    seed_province(db, "04")
    office = _offices(db, "04")[0]
    desk = make_user(db, "desk_officer", office_id=office.id)
    assert province_of(db, desk) == "04"
    assert province_of(db, make_user(db, "admin")) is None


def test_who_may_manage_the_catalogue() -> None:
    from core.catalogue.access import catalogue_scope
    from core.errors import Forbidden

    admin = catalogue_scope(User(role="admin", active=True))
    assert admin.may_manage("01") and admin.may_edit("procedures")
    supervisor = catalogue_scope(User(role="province_supervisor", province_code="24", active=True))
    assert supervisor.may_manage("24") and not supervisor.may_manage("01")
    assert supervisor.may_edit("offices") and not supervisor.may_edit("procedures")
    for refused in (
        User(role="desk_officer", province_code="24", active=True),
        User(role="province_supervisor", province_code=None, active=True),
        User(role="admin", active=False),
    ):
        with pytest.raises(Forbidden) as caught:
            catalogue_scope(refused)
        assert caught.value.field == "role"


def test_a_supervisor_may_not_import_procedures(db: Session) -> None:
    from core.catalogue.access import CatalogueScope
    from core.errors import Forbidden

    scope = CatalogueScope(provinces=frozenset({"24"}), edits_national=False)
    with pytest.raises(Forbidden) as caught:
        import_file(db, "procedures", b"code\n", scope)
    assert caught.value.field == "kind"
