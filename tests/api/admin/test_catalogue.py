"""The catalogue's JSON API and pages: admin only, all or nothing, every bad row answered."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalogue.service import KINDS
from core.identity.models import User
from core.identity.service import issue_token
from core.places.models import PostOffice, Procedure
from core.seed import seed_reference
from core.settings import Settings
from tests.core.catalogue.helpers import EXAMPLES, csv_bytes, read_csv_rows
from tests.factories import make_user

POST_HEADER = ["code", "province_code", "commune_code", "name", "address", "lat", "lon"]


def _bearer(db: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _sign_in(client: TestClient, user: User) -> None:
    login = {"username": user.username, "password": "correct horse battery"}
    response = client.post("/login", data=login, follow_redirects=False)
    assert response.status_code == 303


def test_only_an_admin_reaches_the_api(client: TestClient, db: Session, settings: Settings) -> None:
    assert client.get("/api/v1/admin/catalogue/offices").status_code == 401
    desk = _bearer(db, settings, make_user(db, "desk_officer"))
    refused = client.get("/api/v1/admin/catalogue/offices", headers=desk)
    assert refused.status_code == 403 and refused.json()["field"] == "role"
    upload = {"file": ("p.csv", csv_bytes([POST_HEADER]), "text/csv")}
    posted = client.post("/api/v1/admin/catalogue/post_offices/import", headers=desk, files=upload)
    assert posted.status_code == 403


def test_import_refused_whole_then_fixed_over_the_api(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = _bearer(db, settings, make_user(db, "admin"))
    bad = csv_bytes([
        POST_HEADER,
        ["T-API1", "24", "09187", "Bưu cục một", "Kinh Bắc", "", ""],
        ["T-API2", "24", "09187", "Bưu cục hai", "Kinh Bắc", "21,2", "106.1"],
    ], bom=True)  # fmt: skip
    url = "/api/v1/admin/catalogue/post_offices/import"
    refused = client.post(url, headers=admin, files={"file": ("p.csv", bad, "text/csv")})
    assert refused.status_code == 422
    body = refused.json()
    assert (body["error"], body["field"], body["applied"]) == ("invalid_file", "lat", False)
    assert body["errors"] == [{"line": 3, "column": "lat", "value": "21,2",
                               "reason_vi": "Cần một số (dấu chấm thập phân).",
                               "reason_en": "A number is needed (decimal point)."}]  # fmt: skip
    assert db.scalar(select(PostOffice.id).where(PostOffice.code == "T-API1")) is None
    fixed = bad.replace(b'"21,2"', b"21.2")
    dry = client.post(url + "?dry_run=true", headers=admin, files={"file": ("p.csv", fixed)})
    assert dry.status_code == 200 and dry.json()["created"] == ["T-API1", "T-API2"]
    assert db.scalar(select(PostOffice.id).where(PostOffice.code == "T-API1")) is None
    done = client.post(url, headers=admin, files={"file": ("p.csv", fixed)})
    assert done.status_code == 200 and done.json()["applied"] is True
    again = client.post(url, headers=admin, files={"file": ("p.csv", fixed)}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == ([], [], 2)


def test_export_as_csv_and_xlsx_and_list(
    client: TestClient, db: Session, settings: Settings
) -> None:
    seed_reference(db)
    admin = _bearer(db, settings, make_user(db, "admin"))
    url = "/api/v1/admin/catalogue/procedures"
    listed = client.get(url, headers=admin).json()
    assert listed["columns"] == list(KINDS["procedures"].columns)
    slugs = {row[0] for row in listed["rows"]}
    assert "judicial_record_certificate" in slugs
    as_csv = client.get(url + "/export?format=csv", headers=admin)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert read_csv_rows(as_csv.content)[1:] == listed["rows"]
    as_xlsx = client.get(url + "/export?format=xlsx", headers=admin)
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["procedures"]
    assert [c.value for c in sheet[1]] == listed["columns"]
    wrong = client.get(url + "/export?format=pdf", headers=admin)
    assert wrong.status_code == 422 and wrong.json()["field"] == "format"
    unknown = client.get("/api/v1/admin/catalogue/couriers", headers=admin)
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"


def test_pages_upload_preview_refusal_then_import(client: TestClient, db: Session) -> None:
    seed_reference(db)
    _sign_in(client, make_user(db, "admin"))
    db.commit()
    assert client.get("/admin/catalogue").status_code == 200
    page = client.get("/admin/catalogue/procedures")
    assert page.status_code == 200 and "Đăng ký khai sinh" in page.text
    text = (EXAMPLES / "procedures.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    lines[2] = lines[2].replace(",mandatory,", ",bắt buộc lắm,", 1)
    bad = ("\n".join(lines) + "\n").encode()
    refused = client.post("/admin/catalogue/procedures/upload", files={"file": ("p.csv", bad)})
    assert refused.status_code == 422
    assert re.search(r">3</td><td><code>document_kind</code>", refused.text), refused.text
    assert "Chỉ nhận một trong" in refused.text
    good = (EXAMPLES / "procedures.csv").read_bytes().replace(b",200000,", b",190000,")
    preview = client.post("/admin/catalogue/procedures/upload", files={"file": ("p.csv", good)})
    assert preview.status_code == 200 and "judicial_record_certificate" in preview.text
    data = re.search(r'name="data" value="([^"]+)"', preview.text)
    assert data is not None
    assert db.scalars(select(Procedure.fee_vnd).where(
        Procedure.slug == "judicial_record_certificate")).one() == 200000  # fmt: skip
    done = client.post("/admin/catalogue/procedures/import",
                       data={"data": data.group(1), "filename": "p.csv"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and "imported=0%2C" in done.headers["location"]
    assert db.scalars(select(Procedure.fee_vnd).where(
        Procedure.slug == "judicial_record_certificate")).one() == 190000  # fmt: skip


def test_edit_one_row_in_the_page(client: TestClient, db: Session) -> None:
    seed_reference(db)
    _sign_in(client, make_user(db, "admin"))
    db.commit()
    form = client.get("/admin/catalogue/post_offices/edit?key=BN-01")
    assert form.status_code == 200 and 'value="Bưu điện tỉnh Bắc Ninh"' in form.text
    columns = KINDS["post_offices"].columns
    values = dict(re.findall(r'name="(r0-[a-z_]+)" value="([^"]*)"', form.text))
    assert set(values) == {f"r0-{c}" for c in columns}
    values.update({"rows": "1", "key": "BN-01", "r0-lat": "91"})
    refused = client.post("/admin/catalogue/post_offices/edit", data=values)
    assert refused.status_code == 422 and 'class="cell-error"' in refused.text
    values["r0-address"] = "Số 1 Lý Thái Tổ, phường Kinh Bắc"
    values["r0-lat"] = "21.1861"
    saved = client.post("/admin/catalogue/post_offices/edit", data=values, follow_redirects=False)
    assert saved.status_code == 303
    post = db.scalars(select(PostOffice).where(PostOffice.code == "BN-01")).one()
    db.refresh(post)
    assert (post.address, post.lat) == ("Số 1 Lý Thái Tổ, phường Kinh Bắc", 21.1861)


def test_pages_refuse_other_roles(client: TestClient, db: Session) -> None:
    _sign_in(client, make_user(db, "courier"))
    db.commit()
    assert client.get("/admin/catalogue/offices").status_code == 403


def test_edit_a_procedure_adds_a_document_on_the_empty_line(
    client: TestClient, db: Session
) -> None:
    seed_reference(db)
    _sign_in(client, make_user(db, "admin"))
    db.commit()
    form = client.get("/admin/catalogue/procedures/edit?key=civil_status_extract_copy")
    assert form.status_code == 200
    values = dict(re.findall(r'name="(r\d+-[a-z_]+)" value="([^"]*)"', form.text))
    rows = int(re.search(r'name="rows" value="(\d+)"', form.text).group(1))  # type: ignore[union-attr]
    assert rows == 3  # two documents and the empty line
    assert values["r2-document_name_vi"] == ""
    for column in KINDS["procedures"].columns[:12]:
        values[f"r2-{column}"] = values[f"r0-{column}"]
    values.update({"r2-document_name_vi": "Giấy ủy quyền", "r2-document_kind": "conditional",
                   "r2-document_form": "certified_copy", "rows": str(rows),
                   "key": "civil_status_extract_copy"})  # fmt: skip
    refused = client.post("/admin/catalogue/procedures/edit", data=values)
    assert refused.status_code == 422
    assert "Giấy tờ có điều kiện phải ghi điều kiện." in refused.text
    values["r2-document_condition"] = "nếu người khác nộp thay"
    saved = client.post("/admin/catalogue/procedures/edit", data=values, follow_redirects=False)
    assert saved.status_code == 303
    procedure = db.scalars(
        select(Procedure).where(Procedure.slug == "civil_status_extract_copy")
    ).one()
    db.refresh(procedure)
    assert [d["kind"] for d in procedure.documents] == ["mandatory", "shown", "conditional"]
