"""Print endpoints: labels decode, documents are PDFs with the right text; staff of the right
office only."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.custody.models import Item
from core.custody.parties import party
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for, issue_token
from core.money import record_payment
from core.settings import Settings
from tests.factories import dossier_of, make_case, make_office, make_user
from tests.journey import pick_up
from tests.labels.decode import decoded, pdf_pages, pdf_text


def _bearer(db: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    return {"Authorization": f"Bearer {token}"}


def test_item_labels_as_pdf_zpl_and_html_decode_to_the_item(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    courier = make_user(db, "courier")
    codes = [pick_up(db, make_case(db, settings, office=office), courier) for _ in range(2)]
    auth = _bearer(db, settings, desk)

    one = client.get(f"/print/labels/{codes[0]}.pdf", headers=auth)
    assert one.status_code == 200 and one.headers["content-type"] == "application/pdf"
    (page,) = pdf_pages(one.content, dpi=203)
    symbols = decoded(page)
    assert symbols["code128"] == [codes[0]]
    assert symbols["qr"] == [f"{settings.public_base_url}/t/{codes[0]}"]

    batch = client.get("/print/labels.pdf", params={"items": codes, "layout": "a4"}, headers=auth)
    assert batch.status_code == 200
    (sheet,) = pdf_pages(batch.content, dpi=203)  # both labels on one A4 sheet
    assert sorted(decoded(sheet)["code128"]) == sorted(codes)
    roll = client.get("/print/labels.pdf", params={"items": codes, "layout": "roll"}, headers=auth)
    assert len(pdf_pages(roll.content, dpi=72)) == 2

    zpl = client.get(f"/print/labels/{codes[0]}.zpl", params={"dpi": 300}, headers=auth)
    assert zpl.status_code == 200 and zpl.headers["content-type"].startswith(
        "application/vnd.zebra-zpl"
    )
    assert "^CI28" in zpl.text and f"^FD{codes[0]}^FS" in zpl.text
    assert client.get(f"/print/labels/{codes[0]}.zpl", params={"dpi": 150},
                      headers=auth).status_code == 422  # fmt: skip
    zpl_batch = client.get("/print/labels.zpl", params={"items": codes}, headers=auth)
    assert zpl_batch.text.count("^XA") == 2

    html = client.get(f"/print/labels/{codes[1]}.html", headers=auth)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert codes[1] in html.text and "@page" in html.text


def test_dossier_slip_receipt_and_handover_record(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id, full_name="Lê Thị Một Cửa")
    courier = make_user(db, "courier", full_name="Phạm Văn Bưu")
    codes = [pick_up(db, make_case(db, settings, office=office), courier) for _ in range(2)]
    now = datetime.now(UTC)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=codes, now=now,
                           fees_declared_vnd=400000)  # fmt: skip
    receive_item(db, actor_for(desk), opened.handover.id, codes[0], now=now)
    complete_handover(db, actor_for(desk), opened.handover.id, fees_confirmed_vnd=400000, now=now)
    auth = _bearer(db, settings, desk)

    slip = client.get(f"/print/dossier-slips/{codes[0]}.pdf", headers=auth)
    assert slip.status_code == 200 and slip.headers["content-type"] == "application/pdf"
    slip_text = "\n".join(pdf_text(slip.content))
    assert "PHIẾU HỒ SƠ" in slip_text and "Cấp Phiếu lý lịch tư pháp" in slip_text
    assert "SEAL-001" in slip_text and "Phạm Văn Bưu" in slip_text

    # A receipt only for money taken: none before the ledger records a payment.
    assert client.get(f"/print/receipts/{codes[0]}.pdf", headers=auth).status_code == 422
    item = db.scalar(select(Item).where(Item.code == codes[0]))
    assert item is not None and item.case_id is not None
    issued = record_payment(db, case_id=item.case_id, method="cash", amount_vnd=52_000, at=now,
                            actor_user_id=courier.id, payer="Trần Thị Hoa", reference="",
                            idempotency_key=f"print-{item.case_id}")  # fmt: skip
    receipt = client.get(f"/print/receipts/{codes[0]}.pdf", headers=auth)
    assert receipt.status_code == 200
    receipt_text = "\n".join(pdf_text(receipt.content))
    assert "BIÊN LAI THU TIỀN" in receipt_text and issued.number in receipt_text
    assert "52.000" in receipt_text and "Phạm Văn Bưu" in receipt_text
    again = client.get(f"/print/money-receipts/{issued.id}.pdf", headers=auth)
    assert again.status_code == 200 and issued.number in "\n".join(pdf_text(again.content))

    record = client.get(f"/print/handovers/{opened.handover.id}.pdf", headers=auth)
    assert record.status_code == 200 and record.headers["content-type"] == "application/pdf"
    text = "\n".join(pdf_text(record.content))
    assert opened.handover.code in text
    assert "Lê Thị Một Cửa" in text and "Phạm Văn Bưu" in text
    assert "Thiếu / Missing" in text  # the item never presented
    assert "400.000" in text
    pages = pdf_pages(record.content, dpi=203)
    assert f"{settings.public_base_url}/desk/handovers/{opened.handover.id}" in decoded(pages[0])[
        "qr"
    ] + (decoded(pages[-1])["qr"] if len(pages) > 1 else [])


def test_anonymous_and_other_offices_are_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    code = pick_up(db, make_case(db, settings, office=office), make_user(db, "courier"))
    other_desk = make_user(db, "desk_officer")  # another office
    citizen = make_user(db, "citizen")
    headers = _bearer(db, settings, other_desk)
    citizen_headers = _bearer(db, settings, citizen)
    db.commit()

    anonymous = client.get(f"/print/labels/{code}.pdf")
    assert anonymous.status_code == 401 and anonymous.json()["field"] == "authorization"
    assert client.get(f"/print/dossier-slips/{code}.pdf").status_code == 401
    other = client.get(f"/print/labels/{code}.pdf", headers=headers)
    assert other.status_code == 403 and "another office" in other.json()["detail"]
    assert client.get(f"/print/labels/{code}.pdf", headers=citizen_headers).status_code == 403
    mine = _bearer(db, settings, make_user(db, "desk_officer", office_id=office.id))
    booked = dossier_of(db, make_case(db, settings, office=office)).code
    db.commit()
    unpaid = client.get(f"/print/receipts/{booked}.pdf", headers=mine)
    assert unpaid.status_code == 422 and "no money has been received" in unpaid.json()["detail"]
    bad = client.get("/print/labels/DH12.pdf", headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "item_id"


def test_the_desk_session_cookie_works_too(
    client: TestClient, db: Session, settings: Settings
) -> None:
    office = make_office(db)
    desk = make_user(db, "desk_officer", office_id=office.id)
    code = pick_up(db, make_case(db, settings, office=office), make_user(db, "courier"))
    client.cookies.set("hoso_session", issue_token(db, settings, desk, now=datetime.now(UTC)).token)
    assert client.get(f"/print/labels/{code}.pdf").status_code == 200
