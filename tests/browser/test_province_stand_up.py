"""Issue 16's "done means": a province stood up from an empty database in production mode.

Nothing here comes from the test factories: a fresh database migrated as the owner role,
`hoso seed --province`, the doctor silent, the first admin from the CLI; then, in the browser,
the admin imports the province's post offices and a procedure (a bad file refused whole
first), creates a ward office's desk officer and two couriers; a citizen books with the
sign-in code delivered by the outbox worker to a local HTTP SMS gateway; a courier sets a new
password, picks the dossier up and offers it to the ward office through the courier API (the
calls the courier app makes: the scan sync and the hand-over; driving the app's own pages is
test_courier_app.py's); the desk officer sets a new password and sees the hand-over at /desk.

The province is Cần Thơ (92), whose reference data has no post office: bookings there open
only once the post office file is imported, as for any province but the demo's.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from api.app import create_app
from core.catalogue.service import KINDS
from core.cli import app as hoso
from core.custody.checkpoints import heads_file
from core.custody.note import Signer
from core.db import DatabaseUrls, make_sessionmaker, scratch_database_with_roles
from core.identity.models import User
from core.migrate import migrate_schema
from core.places.models import Office, PostOffice, Procedure
from core.settings import Settings, get_settings
from tests.browser.conftest import PHONE, SCREENS, serving
from tests.core.catalogue.helpers import csv_bytes
from tests.receiver import Receiver, receiver
from vntime import VN

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # 20-35 s on a loaded 2-core machine

PROVINCE = "92"  # Thành phố Cần Thơ
NINH_KIEU = "31135"  # Phường Ninh Kiều: the ward whose office receives the dossier
ADMIN_PASSWORD = "Quan-tri-Can-Tho-2026"
FIRST_PASSWORD = "Mat-khau-dau-1"
COURIER_PASSWORD = "Buu-ta-Ninh-Kieu-3"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN",
           "timezone_id": "Asia/Ho_Chi_Minh"}  # fmt: skip
PROCEDURE_CODE = "ct-e2e-trich-luc-ho-tich"
PROCEDURE_NAME = "Cấp bản sao trích lục hộ tịch (Cần Thơ)"


def _shot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"stand_up_{name}.png"), full_page=True)


def _post_office_file() -> bytes:
    columns = list(KINDS["post_offices"].columns)
    row = {"code": "CT-NK-01", "province_code": PROVINCE, "commune_code": NINH_KIEU,
           "name": "Bưu điện Ninh Kiều", "address": "2 Hòa Bình, Phường Ninh Kiều, TP Cần Thơ",
           "lat": "10.0335", "lon": "105.7830", "position_source": "surveyed"}  # fmt: skip
    return csv_bytes([columns, [row.get(c, "") for c in columns]], bom=True)


def _procedure_file(second_kind: str) -> bytes:
    # By column name: the file's columns grow (postal_other_province came later).
    head = {
        "code": PROCEDURE_CODE, "name_vi": PROCEDURE_NAME,
        "name_en": "Civil status extract copy (Cần Thơ)", "field": "Hộ tịch",
        "level": "commune", "agency": "Ủy ban nhân dân cấp xã", "fee_vnd": "8000",
        "processing_days": "1", "postal_receive": "có", "postal_return": "có",
        "legal_basis": "Luật Hộ tịch 2014",
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


def _hoso(*args: str, stdin: str | None = None) -> str:
    """One `hoso` command, as an operator types it, under the environment set by the test."""
    get_settings.cache_clear()
    result = CliRunner().invoke(hoso, list(args), input=stdin)
    assert result.exit_code == 0, f"hoso {' '.join(args)}: {result.output}"
    return result.output


@pytest.fixture
def empty_database() -> Iterator[DatabaseUrls]:
    """A database of its own, migrated as the owner role and nothing else."""
    with scratch_database_with_roles(os.environ.get("HOSO_TEST_DATABASE_URL"), "hoso_e2e_") as urls:
        migrate_schema(urls)
        yield urls


@pytest.fixture
def sms_gateway() -> Iterator[Receiver]:
    # A brandname provider's JSON answer with its success code (sms_http_success_path).
    with receiver([200], path="/sms/send") as gateway:
        yield gateway


@pytest.fixture
def production(
    empty_database: DatabaseUrls,
    sms_gateway: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Settings]:
    """A production configuration as .env.example's production block asks for it: its own
    signing keys, and the heads file where the province keeps it (here the test's folder:
    the worker's first pass signs a head, which once landed in the checkout's data dir)."""
    environment = {
        "HOSO_LEDGER_SIGNING_KEY": Signer.generate("hoso.cantho.example.vn/custody-ledger").skey(),
        "HOSO_EVENT_SIGNING_KEY": Signer.generate("hoso.cantho.example.vn/events").skey(),
        "HOSO_LEDGER_HEADS_FILE": str(tmp_path / "ledger-heads.jsonl"),
        "HOSO_ENVIRONMENT": "production",
        "HOSO_SECRET_KEY": secrets.token_urlsafe(48),
        "HOSO_PUBLIC_BASE_URL": "https://hoso.cantho.example.vn",
        "HOSO_VIETQR_BANK_BIN": "970405",
        "HOSO_VIETQR_ACCOUNT": "7300205512345",
        "HOSO_VIETQR_ACCOUNT_NAME": "BUU DIEN THANH PHO CAN THO",
        "HOSO_SMS_SENDER": "http",
        "HOSO_SMS_HTTP_URL": sms_gateway.url,
        "HOSO_SMS_BRANDNAME": "BUUDIEN",
        "DATABASE_URL": empty_database.app,
    }
    monkeypatch.delenv("DATABASE_OWNER_URL", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def production_server(production: Settings, empty_database: DatabaseUrls) -> Iterator[str]:
    with serving(create_app(production, url=empty_database.app)) as base:
        yield base


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _create_user(page: Any, *, username: str, full_name: str, role: str, place: str,
                 place_field: str) -> None:  # fmt: skip
    page.click("#new-user")
    page.fill("#username", username)
    page.fill("#full_name", full_name)
    page.select_option("#role", role)
    page.select_option(f"#{place_field}", place)
    page.fill("#password", FIRST_PASSWORD)
    page.fill("#password_again", FIRST_PASSWORD)
    # "must change the password at first sign-in" stays ticked: the form's default.
    page.click("button[type=submit]")
    page.wait_for_selector(".notice")
    assert "Đã tạo người dùng." in page.inner_text(".notice")
    page.click("text=← Người dùng")


def _import(page: Any, base: str, kind: str, name: str, content: bytes) -> None:
    page.goto(f"{base}/admin/catalogue/{kind}")
    upload = {"name": name, "mimeType": "text/csv", "buffer": content}
    page.set_input_files("input[name=file]", files=[upload])
    page.click("text=Kiểm tra tệp")


def _sms_code(gateway: Receiver, phone: str) -> str:
    """The six digits of the latest SMS the gateway received for ``phone`` (84… format)."""
    international = "84" + phone[1:]
    for request in reversed(gateway.requests):
        body = request.json()
        if body.get("phone") in (phone, international):
            found = re.search(r"\b(\d{6})\b", str(body))
            assert found is not None, body
            return found.group(1)
    raise AssertionError(f"no SMS for {phone} reached the gateway: {gateway.requests!r}")


def test_a_province_stands_up_from_an_empty_database(
    empty_database: DatabaseUrls,
    production: Settings,
    production_server: str,
    sms_gateway: Receiver,
    browser: Any,
) -> None:
    base = production_server
    engine = create_engine(empty_database.app)
    factory = make_sessionmaker(engine)
    try:
        _stand_up(base, empty_database, factory, sms_gateway, browser)
    finally:
        engine.dispose()


def _stand_up(base: str, urls: DatabaseUrls, factory: Any, gateway: Receiver,
              browser: Any) -> None:  # fmt: skip
    # -- the operator, at the server's shell -------------------------------------------------
    seeded = _hoso("seed", "--province", PROVINCE)
    assert f"province {PROVINCE}:" in seeded
    get_settings.cache_clear()
    doctor = CliRunner().invoke(hoso, ["doctor", "--timeout", "2"])
    assert doctor.exit_code == 0 and doctor.output == "", doctor.output  # silent: ready
    admin = "quantri.cantho"
    _hoso("admin", "create-user", "--username", admin, "--role", "admin",
          "--full-name", "Quản trị viên thành phố", "--password-stdin",
          stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(PostOffice)) == 0
        assert session.scalar(select(func.count()).select_from(User)) == 1
        ward = session.scalars(
            select(Office).where(Office.commune_code == NINH_KIEU, Office.kind == "commune_centre")
        ).one()
        ward_id, ward_name = ward.id, ward.name_vi

    desktop = browser.new_context(**DESKTOP)
    phone = browser.new_context(**PHONE)
    try:
        page = desktop.new_page()
        # -- the admin, in the browser --------------------------------------------------------
        _sign_in(page, base, admin, ADMIN_PASSWORD)
        page.wait_for_url(f"{base}/admin/users")
        _shot(page, "1_admin_signed_in")

        _import(page, base, "post_offices", "buu_cuc.csv", _post_office_file())
        page.wait_for_selector("#import-preview")
        assert "Sẽ thêm: 1" in page.inner_text("#import-preview")
        page.click("text=Nhập tệp này")
        page.wait_for_url(f"{base}/admin/catalogue/post_offices?imported=*")
        assert "thêm 1" in page.inner_text("#import-done")
        _shot(page, "2_post_offices_imported")

        _import(page, base, "procedures", "thu_tuc.csv", _procedure_file("xuất trình nhé"))
        page.wait_for_selector("#import-errors")
        assert "Không nhập" in page.inner_text("#import-errors h2")
        cells = page.locator("#import-errors tr.row-error td").all_inner_texts()
        assert cells[:2] == ["3", "document_kind"]
        _shot(page, "3_procedures_refused")
        with factory() as session:
            refused = select(Procedure.id).where(Procedure.slug == PROCEDURE_CODE)
            assert session.scalar(refused) is None  # refused whole: nothing changed

        _import(page, base, "procedures", "thu_tuc.csv", _procedure_file("xuất trình"))
        page.wait_for_selector("#import-preview")
        page.click("text=Nhập tệp này")
        page.wait_for_url(f"{base}/admin/catalogue/procedures?imported=*")
        assert "thêm 1" in page.inner_text("#import-done")
        _shot(page, "4_procedures_imported")
        with factory() as session:
            procedure = session.scalars(
                select(Procedure).where(Procedure.slug == PROCEDURE_CODE)
            ).one()
            documents = [d["name_vi"] for d in procedure.documents]
            post_id = session.scalars(select(PostOffice.id)).one()

        page.goto(f"{base}/admin/users")
        desk_name, couriers = "motcua.ninhkieu", ["buuta.ninhkieu1", "buuta.ninhkieu2"]
        _create_user(page, username=desk_name, full_name="Lê Thị Một Cửa", role="desk_officer",
                     place=str(ward_id), place_field="office_id")  # fmt: skip
        for index, name in enumerate(couriers, start=1):
            _create_user(page, username=name, full_name=f"Bưu tá Ninh Kiều {index}",
                         role="courier", place=str(post_id),
                         place_field="post_office_id")  # fmt: skip
        page.wait_for_selector(f'tr[data-username="{couriers[1]}"]')
        _shot(page, "5_staff_created")

        # -- a citizen, on a phone ------------------------------------------------------------
        citizen = phone.new_page()
        number = f"0907{datetime.now(VN):%H%M%S}"
        citizen.goto(f"{base}/book")
        citizen.wait_for_url(re.compile(r".*/citizen/sign-in\?next=.*"))
        citizen.fill("#phone", number)
        citizen.click("button[type=submit]")
        citizen.wait_for_selector("#code")
        _hoso("worker", "--once")  # what the deployment's worker service does every second
        assert heads_file(get_settings()).is_file()  # its first head, where it was configured
        code = _sms_code(gateway, number)
        citizen.fill("#code", code)
        _shot(citizen, "6_citizen_code_from_sms")
        citizen.click("button[type=submit]")
        citizen.wait_for_url(f"{base}/book")

        citizen.fill("#q", "trich luc ho tich can tho")
        citizen.click("form.search button")
        citizen.check("input[name=service_option][value=both]")
        citizen.select_option("#procedure_id", str(procedure.id))
        citizen.fill("#address", "12 Hòa Bình, P. Ninh Kiều, TP Cần Thơ")
        citizen.click("#book-form button[type=submit]")
        confirmed = citizen.locator("#address-confirmed").inner_text()
        assert "Phường Ninh Kiều" in confirmed
        citizen.fill("#contact_name", "Lê Thị Thu")
        citizen.fill("#cccd", "092185012345")
        citizen.check("input[name=citizen_sex][value=female]")
        citizen.fill("#citizen_birth_year", "1985")
        citizen.check("input[name=payment_method][value=cash]")
        citizen.click("#book-form button[type=submit]")
        citizen.wait_for_selector("#quote-total")
        # Cash at the door: the courier collects what the quote says (issue 14's door-step check).
        due = int(re.sub(r"\D", "", citizen.locator("#quote-total").inner_text()))
        _shot(citizen, "7_citizen_quote")
        citizen.click("#confirm")
        citizen.wait_for_selector("#booked-ok")
        item = citizen.locator("#item-id").inner_text()
        assert re.fullmatch(r"DH \d{3} \d{3} \d{3} VN", item)
        _shot(citizen, "8_citizen_booked")

        # -- a courier, through the courier API ------------------------------------------------
        handover_code = _courier_picks_up_and_offers(base, couriers, item, documents, ward_id, due)

        # -- the ward office's desk officer ----------------------------------------------------
        page.click("button.link")  # the admin signs out
        _sign_in(page, base, desk_name, FIRST_PASSWORD)
        page.wait_for_selector("#new_password")
        page.fill("#current_password", FIRST_PASSWORD)
        page.fill("#new_password", "Mot-cua-Ninh-Kieu-7")
        page.fill("#new_password_again", "Mot-cua-Ninh-Kieu-7")
        _shot(page, "9_desk_new_password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/desk")
        page.wait_for_selector("#open-handovers")
        assert handover_code in page.inner_text("#open-handovers")
        assert "Bưu tá Ninh Kiều" in page.inner_text("#incoming")
        assert ward_name in page.inner_text("body")
        _shot(page, "10_desk_sees_handover")
    finally:
        phone.close()
        desktop.close()
    with factory() as session:
        desk = session.scalars(select(User).where(User.username == desk_name)).one()
        assert desk.office_id == ward_id and not desk.must_change_password


def _courier_picks_up_and_offers(base: str, couriers: list[str], item: str,
                                 documents: list[str], ward_id: int, due: int) -> str:  # fmt: skip
    """The courier who may pick the dossier up does, then opens a hand-over to the ward office.
    Returns the hand-over's code."""
    checklist = [{"name": name, "form": "original", "present": True} for name in documents]
    signature = "a" * 64
    with httpx.Client(base_url=base, timeout=30) as client:
        for username in couriers:
            device = {"install_id": f"e2e-{uuid.uuid4()}", "name": "Điện thoại bưu tá",
                      "platform": "android"}  # fmt: skip
            credentials = {"username": username, "password": FIRST_PASSWORD, "device": device}
            login = client.post("/mobile/v1/auth/login", json=credentials)
            # Created with a first password to change: the app asks for a new one, then signs in.
            assert login.status_code == 403, login.text
            assert login.json()["error"] == "password_change_required"
            changed = client.post("/mobile/v1/auth/password", json={
                "username": username, "current_password": FIRST_PASSWORD,
                "new_password": COURIER_PASSWORD})  # fmt: skip
            assert changed.status_code == 204, changed.text
            login = client.post("/mobile/v1/auth/login",
                                json={**credentials, "password": COURIER_PASSWORD})  # fmt: skip
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            # As the app sends it: queued on the phone, synced in a batch (sync.js).
            picked_up = {
                "client_event_id": str(uuid.uuid4()), "kind": "picked_up", "code": item,
                "occurred_at": datetime.now(VN).isoformat(), "lat": 10.0331, "lon": 105.777,
                "evidence": {"citizen_signature_sha256": signature,
                             "courier_signature_sha256": signature},
                "details": {"checklist": checklist, "seal_number": "NP-000001",
                            "fees_collected_vnd": due, "payment_method": "cash"},
            }  # fmt: skip
            synced = client.post("/mobile/v1/scans", headers=headers, json={"events": [picked_up]})
            assert synced.status_code == 200, synced.text
            [result] = synced.json()["results"]
            if result["reason_code"] == "not_authorised":
                continue  # assigned to the other courier
            assert result["outcome"] == "accepted", result
            offered = client.post("/mobile/v1/handovers", headers=headers, json={
                "counterparty": f"office:{ward_id}", "direction": "give",
                "item_codes": [item], "bag_codes": [], "fees_declared_vnd": 0})  # fmt: skip
            assert offered.status_code == 201, offered.text
            body = offered.json()
            assert body["refused"] == [] and len(body["lines"]) == 1, body
            code: str = body["code"]
            return code
    raise AssertionError("neither courier of the post office could pick the dossier up")
