"""Digitised dossiers over HTTP: the courier's phone uploads pages and asks for the copy; the
agency system is told (a webhook), fetches the PDF through a short-lived link, checks its
hashes against the ledger, and a copy changed in the database is detected and not served."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agency.models import AgencySystem
from core.agency.service import IssuedKey, create_system, issue_key
from core.agency.webhooks import WEBHOOK_TOPIC, dispatch_status_webhooks
from core.custody.models import CustodyEvent, Item
from core.digitising.agency import _link_signature
from core.digitising.assemble import tesseract_for
from core.digitising.models import DigitisedCopy, DigitisedCopyAccess
from core.digitising.text_layer import TEXT_LAYER_TOPIC, add_text_layer
from core.outbox.models import OutboxMessage
from core.settings import Settings
from edge.texts.en import TEXTS
from tests.agency_client import signed_get
from tests.api.conftest import RealTransactions
from tests.digitising_pages import render_page
from tests.factories import dossier_of, make_case, make_user, unique
from tests.mobile_api.helpers import bearer, login

EN = {"Accept-Language": "en"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _says(response: Response, reason: str, **params: object) -> bool:
    """The refusal reads the catalogue's English text for ``reason`` (asked in English)."""
    return bool(response.json()["message"] == TEXTS[reason].format(**params))


def _system(
    db: Session, settings: Settings, **fields: str | None
) -> tuple[AgencySystem, IssuedKey]:
    system = create_system(db, code=unique("dvc-"), name="Hệ thống một cửa (thử)", **fields)  # type: ignore[arg-type]
    return system, issue_key(db, settings, system, now=datetime.now(UTC))


def _digitised(
    real: RealTransactions, settings: Settings
) -> tuple[str, list[bytes], dict[str, str]]:
    """A dossier whose courier photographed three pages and made its copy from the phone."""
    db = real.db
    courier = make_user(db, "courier")
    case = make_case(db, settings)
    case.pickup_courier_id = courier.id
    code = dossier_of(db, case).code
    db.commit()
    auth = bearer(login(real.client, courier)["token"])
    pages = [render_page(n) for n in (1, 2, 3)]
    for page in pages:
        for _ in range(2):  # the second is the phone resending after a lost answer
            sent = real.client.put(f"/mobile/v1/dossiers/{code}/pages/{_sha(page)}", content=page,
                                   headers={**auth, "Content-Type": "image/jpeg"})  # fmt: skip
            assert sent.status_code == 201, sent.text
    made = real.client.post(
        f"/mobile/v1/dossiers/{code}/digitised",
        json={"client_id": str(uuid.uuid4()), "pages": [_sha(p) for p in pages],
              "documents": [{"name": "Tờ khai", "first_page": 1, "last_page": 3}]},
        headers=auth,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return code, pages, auth


def test_the_agency_fetches_the_pdf_its_hashes_match_the_ledger_and_tampering_is_caught(
    real: RealTransactions, settings: Settings
) -> None:
    db = real.db
    # Told first: the ledger's digitised event becomes a signed webhook through the outbox.
    hooked, _ = _system(db, settings, kind="national_portal", webhook_url="http://127.0.0.1:9/h")
    no_grace = settings.model_copy(update={"agency_webhook_gap_grace_seconds": 0})
    dispatch_status_webhooks(db, no_grace, now=datetime.now(UTC))
    db.commit()
    code, pages, _ = _digitised(real, settings)
    dispatch_status_webhooks(db, no_grace, now=datetime.now(UTC) + timedelta(seconds=5))
    bodies = [m.payload["body"] for m in db.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == WEBHOOK_TOPIC))
        if m.payload["system"] == hooked.code]  # fmt: skip
    told = [b for b in bodies if b["item_id"] == code and b["event_kind"] == "digitised"]
    assert len(told) == 1
    assert told[0]["digitised"]["copy_url"] == f"/api/agency/v1/dossiers/{code}/digitised"

    portal, key = _system(db, settings, kind="national_portal")
    db.commit()
    asked = signed_get(real.client, key, told[0]["digitised"]["copy_url"])
    assert asked.status_code == 200, asked.text
    offer = asked.json()
    event_id = uuid.UUID(offer["ledger"]["event_id"])
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.event_id == event_id)).one()
    assert event.kind == "digitised"
    assert offer["pdf_sha256"] == event.details["pdf_sha256"] == told[0]["digitised"]["pdf_sha256"]
    assert offer["page_sha256s"] == event.details["page_sha256s"] == [_sha(p) for p in pages]
    assert offer["page_count"] == 3 and offer["ledger"]["hash"] == event.hash

    fetched = real.client.get(offer["download_url"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "application/pdf"
    assert _sha(fetched.content) == event.details["pdf_sha256"]

    # Changed in the database (a bypass of the app): refused as tampered, never served.
    copy = db.scalars(select(DigitisedCopy).where(DigitisedCopy.event_id == event.event_id)).one()
    assert copy.data is not None
    copy.data = copy.data.replace(b"hoso", b"hOso", 1)
    db.commit()
    tampered = real.client.get(offer["download_url"], headers=EN)
    assert tampered.status_code == 409 and _says(tampered, "digitise.copy_tampered")

    # An expired link and a forged one are refused; every access is on record.
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    expired = f"/api/v1/digitised/files/{copy.id}.{portal.id}.{past}." + _link_signature(
        settings, copy.id, portal.id, past)  # fmt: skip
    assert _says(real.client.get(expired, headers=EN), "digitise.link_expired")
    forged = offer["download_url"][:-4] + "0000"
    assert _says(real.client.get(forged, headers=EN), "digitise.bad_link")
    kinds = db.scalars(select(DigitisedCopyAccess.kind)
                       .where(DigitisedCopyAccess.copy_id == copy.id)
                       .order_by(DigitisedCopyAccess.id)).all()  # fmt: skip
    assert kinds == ["link_issued", "downloaded", "refused_tampered", "refused_expired"]


@pytest.mark.skipif(tesseract_for("vie") is None, reason="Tesseract with Vietnamese is not here")
def test_after_the_worker_adds_the_text_layer_the_agency_gets_the_searchable_copy(
    real: RealTransactions, settings: Settings
) -> None:
    """The request answers with the image-only copy; the worker's searchable copy has its own
    ledger event, the agency is offered it, its bytes hash to that event, and a change to it
    is caught like a change to the first."""
    db = real.db
    code, pages, auth = _digitised(real, settings)
    first = db.scalars(select(DigitisedCopy).join(Item, Item.id == DigitisedCopy.item_id)
                       .where(Item.code == code)).one()  # fmt: skip
    assert first.text_layer is None
    message = db.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == TEXT_LAYER_TOPIC,
        OutboxMessage.payload["copy_id"].as_integer() == first.id)).one()  # fmt: skip
    assert add_text_layer(db, message.payload, settings, datetime.now(UTC)).startswith("text layer")
    db.commit()

    portal, key = _system(db, settings, kind="national_portal")
    db.commit()
    offer = signed_get(real.client, key, f"/api/agency/v1/dossiers/{code}/digitised").json()
    event = db.scalars(select(CustodyEvent).where(
        CustodyEvent.event_id == uuid.UUID(offer["ledger"]["event_id"]))).one()  # fmt: skip
    assert event.event_id != first.event_id and event.details["text_layer"] == offer["text_layer"]
    assert offer["text_layer"] is not None and offer["pdf_sha256"] != first.pdf_sha256
    fetched = real.client.get(offer["download_url"])
    assert fetched.status_code == 200 and _sha(fetched.content) == event.details["pdf_sha256"]
    phone = real.client.get(f"/mobile/v1/dossiers/{code}/digitised", headers=auth).json()
    assert phone["pdf_sha256"] == offer["pdf_sha256"] and phone["text_layer"] is not None

    searchable = db.scalars(select(DigitisedCopy)
                            .where(DigitisedCopy.event_id == event.event_id)).one()  # fmt: skip
    assert searchable.data is not None
    searchable.data = searchable.data.replace(b"hoso", b"hOso", 1)
    db.commit()
    tampered = real.client.get(offer["download_url"], headers=EN)
    assert tampered.status_code == 409 and _says(tampered, "digitise.copy_tampered")


def test_another_provinces_system_does_not_see_the_copy(
    real: RealTransactions, settings: Settings
) -> None:
    code, _, _ = _digitised(real, settings)
    _, key = _system(real.db, settings, kind="provincial_one_stop", province_code="01")
    real.db.commit()
    refused = signed_get(real.client, key, f"/api/agency/v1/dossiers/{code}/digitised")
    assert refused.status_code == 404
    assert refused.json()["field"] == "item_id" and "digitised copy" in refused.json()["detail"]


def test_the_phone_is_told_why_a_page_is_refused_in_its_language(
    real: RealTransactions, settings: Settings
) -> None:
    code, _, auth = _digitised(real, settings)
    pdf = b"%PDF-1.7\n" + b"0" * 1000
    as_pdf = real.client.put(f"/mobile/v1/dossiers/{code}/pages/{_sha(pdf)}", content=pdf,
                             headers={**auth, "Content-Type": "application/pdf",
                                      "Accept-Language": "vi"})  # fmt: skip
    assert as_pdf.status_code == 422
    assert as_pdf.json()["message"] == "Mỗi trang phải là ảnh chụp hoặc ảnh quét (JPEG hoặc PNG)."
    huge = b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024)
    too_big = real.client.put(f"/mobile/v1/dossiers/{code}/pages/{_sha(huge)}", content=huge,
                              headers={**auth, "Content-Type": "image/jpeg",
                                       "Accept-Language": "en"})  # fmt: skip
    assert too_big.status_code == 422
    assert _says(too_big, "digitise.page_too_large", max_mb=10)
    # Someone else's dossier: refused before anything is read into the database.
    other = bearer(login(real.client, make_user(real.db, "courier"))["token"])
    real.db.commit()
    page = render_page(9)
    theirs = real.client.put(f"/mobile/v1/dossiers/{code}/pages/{_sha(page)}", content=page,
                             headers={**other, **EN, "Content-Type": "image/jpeg"})  # fmt: skip
    assert theirs.status_code == 403 and _says(theirs, "digitise.not_yours", code=code)
    shown = real.client.get(f"/mobile/v1/dossiers/{code}/digitised", headers=auth)
    assert shown.status_code == 200 and shown.json()["page_count"] == 3
