"""Catalogue import: every bad row reported with line, column and reason; all or nothing;
idempotent; export then import changes nothing; CSV (with and without BOM) and Excel."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalogue.access import CatalogueScope
from core.catalogue.service import KINDS, export_file, import_file
from core.places.models import Office, PostOffice, PriceTier, Procedure
from core.seed import seed_reference
from tests.core.catalogue.helpers import EXAMPLES, csv_bytes, read_csv_rows, xlsx_bytes

ALL = CatalogueScope.everything()
POST_HEADER = ["code", "province_code", "commune_code", "name", "address", "lat", "lon"]
PROCEDURE_HEADER = list(KINDS["procedures"].columns)


def _procedure_row(**overrides: str) -> list[str]:
    values = {
        "code": "t-birth",
        "national_code": "1.001193",
        "name_vi": "Đăng ký khai sinh",
        "name_en": "Birth registration",
        "field": "Hộ tịch",
        "level": "commune",
        "agency": "Ủy ban nhân dân cấp xã",
        "fee_vnd": "0",
        "processing_days": "1",
        "postal_receive": "có",
        "postal_return": "có",
        "legal_basis": "Luật Hộ tịch 2014",
        "postal_other_province": "",
        "document_name_vi": "Tờ khai đăng ký khai sinh",
        "document_name_en": "Birth registration form",
        "document_kind": "mandatory",
        "document_condition": "",
        "document_form": "original",
        "document_quantity": "1",
        "document_note": "",
    }
    values.update(overrides)
    return [values[c] for c in PROCEDURE_HEADER]


def _errors(report: Any) -> list[tuple[int, str | None]]:
    return [(e.line, e.column) for e in report.errors]


def test_every_bad_row_is_reported_and_nothing_changes(db: Session) -> None:
    before = db.scalar(select(func.count()).select_from(PostOffice))
    data = csv_bytes([
        POST_HEADER,
        ["T-OK1", "24", "09187", "Bưu cục Kinh Bắc", "Phường Kinh Bắc", "21.19", "106.06"],
        ["T BAD!", "24", "09187", "Bưu cục mã sai", "Phường Kinh Bắc", "", ""],
        ["T-OK2", "99", "09187", "Bưu cục tỉnh lạ", "?", "", ""],
        ["T-OK3", "01", "09187", "Bưu cục sai tỉnh", "?", "", ""],
        ["T-OK1", "24", "09187", "Trùng mã", "Phường Kinh Bắc", "", ""],
        ["T-OK4", "24", "09187", "Ngoài lãnh thổ", "?", "48.85", "2.35"],
    ])  # fmt: skip
    report = import_file(db, "post_offices", data, ALL)
    assert report.refused and not report.applied
    assert _errors(report) == [
        (3, "code"), (4, "province_code"), (5, "commune_code"), (6, "code"), (7, "lat"),
        (7, "lon"),
    ]  # fmt: skip
    by_line = {e.line: e for e in report.errors}
    assert "99" in by_line[4].reason_vi and "tỉnh" in by_line[4].reason_vi
    assert by_line[4].reason_en.startswith("No province with code '99'")
    assert "line 2" in by_line[6].reason_en.replace("Same as line", "line")
    assert db.scalar(select(func.count()).select_from(PostOffice)) == before


@pytest.mark.parametrize(
    ("overrides", "column", "english"),
    [
        ({"fee_vnd": "-5000"}, "fee_vnd", "whole, non-negative"),
        ({"fee_vnd": "12500.5"}, "fee_vnd", "whole, non-negative"),
        ({"fee_vnd": "200.000"}, "fee_vnd", "without separators"),
        ({"processing_days": ""}, "processing_days", "Required"),
        ({"document_kind": "required"}, "document_kind", "mandatory, shown"),
        ({"document_form": "photocopy"}, "document_form", "Must be one of"),
        ({"document_kind": "conditional"}, "document_condition", "needs its condition"),
        ({"level": "national"}, "level", "Must be one of"),
        ({"postal_return": "maybe"}, "postal_return", "yes"),
        ({"code": "khai sinh"}, "code", "letters without accents"),
    ],
)
def test_procedure_row_errors_name_the_column(
    db: Session, overrides: dict[str, str], column: str, english: str
) -> None:
    data = csv_bytes([PROCEDURE_HEADER, _procedure_row(**overrides)])
    report = import_file(db, "procedures", data, ALL)
    assert _errors(report) == [(2, column)]
    assert english in report.errors[0].reason_en
    assert report.errors[0].reason_vi != report.errors[0].reason_en
    assert db.scalar(select(Procedure.id).where(Procedure.slug == "t-birth")) is None


def test_a_missing_column_refuses_the_file_at_the_header(db: Session) -> None:
    header = [c for c in PROCEDURE_HEADER if c != "fee_vnd"]
    row = _procedure_row()
    del row[PROCEDURE_HEADER.index("fee_vnd")]
    report = import_file(db, "procedures", csv_bytes([header, row]), ALL)
    assert _errors(report) == [(1, "fee_vnd")]
    assert "fee_vnd" in report.errors[0].reason_vi


def test_an_unknown_column_is_refused_rather_than_ignored(db: Session) -> None:
    report = import_file(db, "procedures", csv_bytes([[*PROCEDURE_HEADER, "fee"],
                                                      [*_procedure_row(), "5"]]), ALL)  # fmt: skip
    assert _errors(report) == [(1, "fee")]


def test_procedure_rows_are_grouped_and_must_agree(db: Session) -> None:
    rows = [
        PROCEDURE_HEADER,
        _procedure_row(),
        _procedure_row(document_name_vi="Giấy chứng sinh", document_name_en="Birth certificate"),
        _procedure_row(fee_vnd="8000", document_name_vi="Giấy ủy quyền", document_name_en="Proxy",
                       document_kind="conditional", document_condition="nếu ủy quyền",
                       document_form="certified_copy"),
        _procedure_row(document_name_vi="Tờ khai đăng ký khai sinh"),
    ]  # fmt: skip
    report = import_file(db, "procedures", csv_bytes(rows), ALL)
    assert _errors(report) == [(4, "fee_vnd"), (5, "document_name_vi")]
    assert "line 2" in report.errors[0].reason_en


def test_a_procedure_is_created_with_its_documents_then_updated(db: Session) -> None:
    rows = [
        PROCEDURE_HEADER,
        _procedure_row(),
        _procedure_row(document_name_vi="Văn bản ủy quyền", document_name_en="Power of attorney",
                       document_kind="có điều kiện", document_condition="nếu nộp thay",
                       document_form="bản sao chứng thực"),
        _procedure_row(document_name_vi="Căn cước (xuất trình)", document_name_en="ID card",
                       document_kind="shown", document_quantity=""),
    ]  # fmt: skip
    report = import_file(db, "procedures", csv_bytes(rows), ALL)
    assert report.applied and report.created == ["t-birth"] and report.rows == 3
    procedure = db.scalars(select(Procedure).where(Procedure.slug == "t-birth")).one()
    assert (procedure.field, procedure.national_code, procedure.postal_receive) == (
        "Hộ tịch", "1.001193", True)  # fmt: skip
    assert [(d["kind"], d["form"], d["condition"]) for d in procedure.documents] == [
        ("mandatory", "original", None),
        ("conditional", "certified_copy", "nếu nộp thay"),
        ("shown", "original", None),
    ]
    rows[1] = _procedure_row(fee_vnd="8000", postal_return="không")
    del rows[2:]
    report = import_file(db, "procedures", csv_bytes(rows), ALL)
    assert report.updated == ["t-birth"] and report.created == []
    db.refresh(procedure)
    assert (procedure.fee_vnd, procedure.postal_return, len(procedure.documents)) == (
        8000,
        False,
        1,
    )


def test_the_catalogue_says_which_procedures_the_post_carries_to_another_province(
    db: Session,
) -> None:
    # A file made before the column existed imports: the flag is off (issue 18).
    header = [c for c in PROCEDURE_HEADER if c != "postal_other_province"]
    row = _procedure_row(code="t-judicial")
    del row[PROCEDURE_HEADER.index("postal_other_province")]
    assert import_file(db, "procedures", csv_bytes([header, row]), ALL).applied
    procedure = db.scalars(select(Procedure).where(Procedure.slug == "t-judicial")).one()
    assert procedure.postal_other_province is False
    carried = _procedure_row(code="t-judicial", postal_other_province="có")
    assert import_file(db, "procedures", csv_bytes([PROCEDURE_HEADER, carried]), ALL).applied
    db.refresh(procedure)
    assert procedure.postal_other_province is True
    bad = _procedure_row(code="t-judicial", postal_other_province="tùy")
    report = import_file(db, "procedures", csv_bytes([PROCEDURE_HEADER, bad]), ALL)
    assert report.refused and _errors(report) == [(2, "postal_other_province")]
    db.refresh(procedure)
    assert procedure.postal_other_province is True


def test_importing_the_same_file_twice_changes_nothing(db: Session) -> None:
    data = csv_bytes([
        ["province_code", "max_grams", "same_commune_vnd", "same_province_vnd",
         "other_province_vnd"],
        ["01", "100", "25000", "27000", "30000"],
        ["01", "500", "30000", "33000", "41000"],
    ])  # fmt: skip
    first = import_file(db, "price_tiers", data, ALL)
    assert first.created == ["01/100", "01/500"]
    second = import_file(db, "price_tiers", data, ALL)
    assert (second.created, second.updated, second.unchanged, second.applied) == ([], [], 2, True)
    tiers = db.scalars(select(PriceTier).where(PriceTier.province_code == "01")).all()
    assert sorted(t.same_province_vnd for t in tiers) == [27000, 33000]


def test_a_dry_run_reports_what_would_change_and_changes_nothing(db: Session) -> None:
    data = csv_bytes([POST_HEADER, ["T-DRY", "24", "09187", "Bưu cục thử", "Kinh Bắc", "", ""]])
    report = import_file(db, "post_offices", data, ALL, dry_run=True)
    assert report.created == ["T-DRY"] and not report.applied
    assert db.scalar(select(PostOffice.id).where(PostOffice.code == "T-DRY")) is None


def test_empty_position_takes_the_commune_centroid(db: Session) -> None:
    data = csv_bytes([POST_HEADER, ["T-CEN", "24", "09187", "Bưu cục", "Kinh Bắc", "", ""]])
    import_file(db, "post_offices", data, ALL)
    post = db.scalars(select(PostOffice).where(PostOffice.code == "T-CEN")).one()
    assert post.position_source == "commune_centroid" and 21 < post.lat < 21.4


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(db: Session, kind: str, fmt: str) -> None:
    seed_reference(db)
    exported = export_file(db, kind, "xlsx" if fmt == "xlsx" else "csv", ALL, "24")
    report = import_file(db, kind, exported, ALL)
    assert report.errors == []
    assert (report.created, report.updated) == ([], [])
    assert report.unchanged > 0


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_the_shipped_examples_import_cleanly(db: Session, kind: str, suffix: str) -> None:
    data = (EXAMPLES / f"{kind}.{suffix}").read_bytes()
    report = import_file(db, kind, data, ALL, filename=f"{kind}.{suffix}")
    assert report.errors == [] and report.applied
    # The examples are Bắc Ninh's reference data: on a database seeded with it they match.
    seed_reference(db)
    again = import_file(db, kind, data, ALL)
    assert (again.created, again.updated) == ([], [])


def test_csv_with_and_without_bom_and_semicolons_read_alike(db: Session) -> None:
    rows = [POST_HEADER, ["T-BOM", "24", "09187", "Bưu cục Đình Bảng", "Đình Bảng", "", ""]]
    with_bom = import_file(db, "post_offices", csv_bytes(rows, bom=True), ALL, dry_run=True)
    without = import_file(db, "post_offices", csv_bytes(rows), ALL, dry_run=True)
    semicolons = ("\ufeff" + "\n".join(";".join(r) for r in rows)).encode("utf-8")
    with_semicolons = import_file(db, "post_offices", semicolons, ALL, dry_run=True)
    assert with_bom.created == without.created == with_semicolons.created == ["T-BOM"]


def test_excel_numbers_and_a_wrong_sheet(db: Session) -> None:
    header: list[object] = list(KINDS["price_tiers"].columns)
    # Province 04 typed as the number 4, as Excel keeps it; a price typed as 31500.0.
    good = xlsx_bytes({"price_tiers": [header, [4, 100, 26000, 28000, 31500.0]]})
    report = import_file(db, "price_tiers", good, ALL)
    assert report.errors == [] and report.created == ["04/100"]
    fractional = xlsx_bytes({"price_tiers": [header, ["04", 250, 26000.5, 28000, 31500]]})
    assert _errors(import_file(db, "price_tiers", fractional, ALL)) == [(2, "same_commune_vnd")]
    wrong = xlsx_bytes({"Sheet1": [header, ["04", 100, 1, 2, 3]]})
    report = import_file(db, "price_tiers", wrong, ALL)
    assert _errors(report) == [(0, None)]
    assert "price_tiers" in report.errors[0].reason_vi and "Sheet1" in report.errors[0].reason_en


def test_an_unreadable_file_is_refused(db: Session) -> None:
    report = import_file(db, "offices", b"\xff\xfe\x00garbage", ALL)
    assert _errors(report) == [(0, None)] and "UTF-8" in report.errors[0].reason_en


def test_a_supervisor_scope_refuses_other_provinces_rows(db: Session) -> None:
    scope = CatalogueScope(provinces=frozenset({"24"}), edits_national=False)
    hoan_kiem = ["T-HN", "01", "00070", "Bưu cục Hoàn Kiếm", "Hoàn Kiếm", "", ""]
    data = csv_bytes([POST_HEADER, hoan_kiem])
    report = import_file(db, "post_offices", data, scope)
    assert _errors(report) == [(2, "province_code")]
    assert "01" in report.errors[0].reason_vi


def test_exported_offices_name_their_columns_in_the_documented_order(db: Session) -> None:
    seed_reference(db)
    rows = read_csv_rows(export_file(db, "offices", "csv", ALL, "24"))
    assert rows[0] == list(KINDS["offices"].columns)
    codes = {r[0] for r in rows[1:]}
    stored = set(db.scalars(select(Office.code).where(Office.province_code == "24")))
    assert codes == stored


def test_a_procedure_stored_without_a_field_exports_and_imports_back(db: Session) -> None:
    from tests.factories import make_procedure

    procedure = make_procedure(db)  # as stored before 0006f: no field (lĩnh vực)
    assert procedure.field == ""
    exported = export_file(db, "procedures", "csv", ALL)
    report = import_file(db, "procedures", exported, ALL)
    assert report.errors == [] and procedure.slug not in report.updated
