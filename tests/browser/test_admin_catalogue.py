"""An admin imports a procedure file in the browser: a bad row refuses the whole file with its
line and column, the fixed file is previewed, then imported."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.catalogue.service import KINDS
from core.places.models import Procedure
from tests.core.catalogue.helpers import csv_bytes
from tests.factories import make_user, unique

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip


def _procedure_file(code: str, second_kind: str) -> bytes:
    # By column name: the file's columns grow (postal_other_province came later).
    head = {
        "code": code, "name_vi": "Cấp bản sao trích lục hộ tịch",
        "name_en": "Civil status extract copy", "field": "Hộ tịch", "level": "commune",
        "agency": "Ủy ban nhân dân cấp xã", "fee_vnd": "8000", "processing_days": "1",
        "postal_receive": "có", "postal_return": "có", "legal_basis": "Luật Hộ tịch 2014",
    }  # fmt: skip
    documents = [
        {"document_name_vi": "Tờ khai cấp bản sao trích lục hộ tịch",
         "document_name_en": "Request form", "document_kind": "mandatory"},
        {"document_name_vi": "Căn cước (xuất trình)", "document_name_en": "ID card (shown)",
         "document_kind": second_kind},
    ]  # fmt: skip
    columns = list(KINDS["procedures"].columns)
    rows = [
        [{**head, "document_form": "original", "document_quantity": "1", **d}.get(c, "")
         for c in columns]
        for d in documents
    ]  # fmt: skip
    return csv_bytes([columns, *rows], bom=True)


def test_admin_uploads_a_bad_procedure_file_then_the_fixed_one(
    live_server: str, browser: Any, committing: sessionmaker[Session], screenshot: Any
) -> None:
    username = unique("admin")
    code = unique("t-proc-").replace("_", "-")[:40]
    with committing.begin() as session:
        make_user(session, "admin", username=username, password="correct horse battery")
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=/admin/catalogue/procedures")
        page.fill("#username", username)
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/admin/catalogue/procedures")
        assert page.locator("h1").inner_text() == "Thủ tục hành chính"

        bad = {"name": "thu_tuc.csv", "mimeType": "text/csv",
               "buffer": _procedure_file(code, "xuất trình nhé")}  # fmt: skip
        page.set_input_files("input[name=file]", files=[bad])
        page.click("text=Kiểm tra tệp")
        alert = page.locator("#import-errors")
        assert "Không nhập" in alert.locator("h2").inner_text()
        cells = alert.locator("tr.row-error td").all_inner_texts()
        assert cells[:2] == ["3", "document_kind"]
        assert cells[2].startswith("Chỉ nhận một trong:")
        screenshot(page, "admin_catalogue_refused")
        with committing.begin() as session:
            assert session.scalar(select(Procedure.id).where(Procedure.slug == code)) is None

        page.click("text=Quay lại để tải tệp đã sửa")
        good = {**bad, "buffer": _procedure_file(code, "xuất trình")}
        page.set_input_files("input[name=file]", files=[good])
        page.click("text=Kiểm tra tệp")
        preview = page.locator("#import-preview")
        assert "Sẽ thêm: 1" in preview.inner_text() and code in preview.inner_text()
        screenshot(page, "admin_catalogue_preview")
        page.click("text=Nhập tệp này")
        page.wait_for_url(f"{live_server}/admin/catalogue/procedures?imported=*")
        assert "thêm 1" in page.locator("#import-done").inner_text()
        screenshot(page, "admin_catalogue_imported")
        with committing.begin() as session:
            procedure = session.scalars(select(Procedure).where(Procedure.slug == code)).one()
            assert [d["kind"] for d in procedure.documents] == ["mandatory", "shown"]
            assert procedure.fee_vnd == 8000
    finally:
        context.close()
