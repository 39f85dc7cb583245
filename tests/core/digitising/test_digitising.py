"""Digitising a dossier: pages by hash, one PDF with a Vietnamese text layer, the ledger's
``digitised`` event, refusals that change nothing, and deletion after the retention period."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.cli import worker_handlers
from core.custody.models import CustodyEvent
from core.custody.parties import party
from core.custody.verify import verify_ledger
from core.digitising.assemble import assemble, tesseract_for
from core.digitising.models import DigitisedCopy, DossierPage
from core.digitising.retention import Deleted, purge_expired
from core.digitising.service import (
    DocumentPages,
    digitise,
    latest_copy,
    ledger_facts,
    store_page,
    tampering,
)
from core.digitising.text_layer import TEXT_LAYER_TOPIC, add_text_layer, text_layer_job
from core.errors import DomainError, Forbidden, InvalidInput
from core.identity.models import User
from core.identity.service import actor_for
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.digitising_pages import KNOWN_WORD, render_page
from tests.factories import dossier_of, make_case, make_post_office, make_user
from tests.journey import hand_to_office, pick_up

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assigned_case(db: Session, settings: Settings, **overrides: object) -> tuple[Case, User]:
    courier = make_user(db, "courier")
    case = make_case(db, settings, **overrides)  # type: ignore[arg-type]
    case.pickup_courier_id = courier.id
    db.flush()
    return case, courier


def _upload(
    db: Session, settings: Settings, courier: User, code: str, pages: list[bytes]
) -> list[str]:
    return [
        store_page(db, settings, actor_for(courier), code, page, "image/jpeg",
                   expected_sha256=_sha(page), now=NOW).sha256
        for page in pages
    ]  # fmt: skip


def _text_of(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def _pages_of(db: Session, code_item_id: int) -> int:
    return db.scalar(select(func.count()).select_from(DossierPage)
                     .where(DossierPage.item_id == code_item_id)) or 0  # fmt: skip


def _text_layer_message(db: Session, copy: DigitisedCopy) -> OutboxMessage:
    return db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.topic == TEXT_LAYER_TOPIC,
            OutboxMessage.payload["copy_id"].as_integer() == copy.id,
        )
    ).one()


@pytest.mark.skipif(tesseract_for("vie") is None, reason="Tesseract with Vietnamese is not here")
def test_a_dossier_becomes_one_searchable_pdf_whose_hashes_are_in_the_ledger(
    db: Session, settings: Settings
) -> None:
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    pages = [render_page(n) for n in (1, 2, 3)]
    hashes = _upload(db, settings, courier, item.code, pages)

    copy = digitise(db, settings, actor_for(courier), item.code, client_id=uuid.uuid4(),
                    page_sha256s=hashes, documents=[DocumentPages("Tờ khai", 1, 2)],
                    now=NOW)  # fmt: skip

    # The request made the image-only PDF and did not wait for Tesseract: no words yet.
    assert copy.data is not None and copy.page_count == 3
    assert copy.text_layer is None and _text_of(copy.data) == ["", "", ""]
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.event_id == copy.event_id)).one()
    assert event.kind == "digitised" and event.item_id == item.id
    # The ledger holds the hash of the PDF as stored, and each page's.
    assert event.details["pdf_sha256"] == _sha(copy.data) == copy.pdf_sha256
    assert event.details["page_sha256s"] == [_sha(p) for p in pages]
    assert event.details["page_count"] == 3
    assert event.details["captured_by"] == party("courier", courier.id)
    assert event.details["documents"] == [{"name": "Tờ khai", "first_page": 1, "last_page": 2}]
    assert event.details["text_layer_queued"] is True
    assert tampering(db, copy) == []

    # The worker's job (queued in the same transaction) makes the searchable copy.
    message = _text_layer_message(db, copy)
    said = add_text_layer(db, message.payload, settings, NOW + timedelta(seconds=40))
    assert said.startswith("text layer tesseract")
    searchable = latest_copy(db, item.id)
    assert searchable is not None and searchable.id != copy.id and searchable.data is not None
    assert searchable.text_layer is not None and searchable.text_layer.endswith("vie")
    texts = _text_of(searchable.data)
    assert len(texts) == 3
    assert all(KNOWN_WORD in t for t in texts), texts
    second = db.scalars(
        select(CustodyEvent).where(CustodyEvent.event_id == searchable.event_id)
    ).one()
    assert second.kind == "digitised" and second.seq > event.seq
    assert second.details["pdf_sha256"] == _sha(searchable.data) != copy.pdf_sha256
    assert second.details["page_sha256s"] == event.details["page_sha256s"]
    assert second.details["captured_by"] == party("courier", courier.id)
    assert second.details["text_layer_of"] == {"event_id": str(copy.event_id),
                                               "pdf_sha256": copy.pdf_sha256}  # fmt: skip
    assert tampering(db, copy) == [] and tampering(db, searchable) == []
    # The system's event chains and folds like any other (hoso ledger verify).
    assert [p for p in verify_ledger(db).problems if p.item_code == item.code] == []
    # Run again (a retried message): the searchable copy already replaced it; nothing more.
    again = add_text_layer(db, message.payload, settings, NOW)
    assert again == f"no text layer: copy {searchable.id} replaced this one"
    assert latest_copy(db, item.id) == searchable


def test_a_text_layer_without_tesseract_ends_saying_so(db: Session, settings: Settings) -> None:
    """The worker's job on a machine without the language: no new copy, and the reason."""
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    hashes = _upload(db, settings, courier, item.code, [render_page(1)])
    copy = digitise(db, settings, actor_for(courier), item.code, client_id=uuid.uuid4(),
                    page_sha256s=hashes, now=NOW)  # fmt: skip
    message = _text_layer_message(db, copy)
    lacking = settings.model_copy(update={"digitise_ocr_languages": "xx_nonexistent"})
    said = add_text_layer(db, message.payload, lacking, NOW)
    assert said.startswith("no text layer: Tesseract with xx_nonexistent is not here")
    assert latest_copy(db, item.id) == copy


def test_the_same_pages_make_the_same_bytes_with_or_without_a_text_layer() -> None:
    pages = [render_page(1), render_page(2)]
    for languages in ("vie", None):
        first = assemble(pages, ocr_languages=languages)
        assert assemble(pages, ocr_languages=languages).pdf == first.pdf


def test_without_tesseract_the_copy_is_made_without_a_text_layer(
    db: Session, settings: Settings
) -> None:
    """A language Tesseract lacks is detected like a missing Tesseract: no layer, no failure."""
    assert tesseract_for("xx_nonexistent") is None
    for languages in ("", "xx_nonexistent"):
        case, courier = _assigned_case(db, settings)
        item = dossier_of(db, case)
        hashes = _upload(db, settings, courier, item.code, [render_page(1)])
        plain = settings.model_copy(update={"digitise_ocr_languages": languages})
        copy = digitise(db, plain, actor_for(courier), item.code, client_id=uuid.uuid4(),
                        page_sha256s=hashes, now=NOW)  # fmt: skip
        assert copy.text_layer is None
        assert copy.data is not None and _text_of(copy.data) == [""]
        assert ledger_facts(db, copy)["text_layer"] is None
        # Nothing is queued when no language is set; the language's absence is the job's.
        queued = db.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.topic == TEXT_LAYER_TOPIC,
            OutboxMessage.payload["copy_id"].as_integer() == copy.id))  # fmt: skip
        assert queued == (0 if languages == "" else 1)


def test_a_page_sent_again_and_a_copy_asked_again_are_not_doubled(
    db: Session, settings: Settings
) -> None:
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    page = render_page(1)
    _upload(db, settings, courier, item.code, [page, page])
    assert _pages_of(db, item.id) == 1
    plain = settings.model_copy(update={"digitise_ocr_languages": ""})
    key = uuid.uuid4()
    first = digitise(db, plain, actor_for(courier), item.code, client_id=key,
                     page_sha256s=[_sha(page)], now=NOW)  # fmt: skip
    again = digitise(db, plain, actor_for(courier), item.code, client_id=key,
                     page_sha256s=[_sha(page)], now=NOW)  # fmt: skip
    assert again.id == first.id
    events = db.scalar(select(func.count()).select_from(CustodyEvent)
                       .where(CustodyEvent.item_id == item.id,
                              CustodyEvent.kind == "digitised"))  # fmt: skip
    assert events == 1


def _refusal(call: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_bad_pages_are_refused_with_a_reason_and_nothing_is_stored(
    db: Session, settings: Settings
) -> None:
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    actor = actor_for(courier)
    small = settings.model_copy(update={"digitise_max_page_bytes": 64 * 1024})

    def put(data: bytes, content_type: str = "image/jpeg", limits: Settings = settings) -> object:
        return lambda: store_page(db, limits, actor, item.code, data, content_type,
                                  expected_sha256=_sha(data), now=NOW)  # fmt: skip

    not_image = b"%PDF-1.7 not a photo"
    assert _refusal(put(not_image)).reason == "digitise.not_an_image"
    assert _refusal(put(not_image, "application/pdf")).reason == "digitise.not_an_image"
    # JPEG's first bytes and then garbage: Pillow must read the whole image.
    assert _refusal(put(b"\xff\xd8\xff\xe0" + b"\0" * 500)).reason == "digitise.not_an_image"
    big = render_page(1, width=2400, height=3400, quality=95)
    assert len(big) > 64 * 1024
    refused = _refusal(put(big, limits=small))
    assert refused.reason == "digitise.page_too_large" and refused.params == {"max_mb": "0.0625"}
    wrong = render_page(2)
    mismatch = _refusal(lambda: store_page(db, settings, actor, item.code, wrong, "image/jpeg",
                                           expected_sha256=_sha(b"other"), now=NOW))  # fmt: skip
    assert mismatch.reason == "digitise.hash_mismatch"
    assert _pages_of(db, item.id) == 0


def test_a_dossier_not_held_by_the_caller_is_refused(db: Session, settings: Settings) -> None:
    case, _courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    page = render_page(1)
    other_courier = make_user(db, "courier")
    elsewhere = make_user(db, "dispatcher", post_office_id=make_post_office(db).id)
    for user, reason in ((other_courier, "digitise.not_yours"),
                         (elsewhere, "digitise.not_at_post_office")):  # fmt: skip
        refused = _refusal(lambda u=user: store_page(db, settings, actor_for(u), item.code, page,
                                                     "image/jpeg", expected_sha256=_sha(page),
                                                     now=NOW))  # fmt: skip
        assert isinstance(refused, Forbidden) and refused.reason == reason
    assert _pages_of(db, item.id) == 0


def test_a_copy_refuses_missing_duplicate_pages_and_bad_ranges(
    db: Session, settings: Settings
) -> None:
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    actor = actor_for(courier)
    [sha] = _upload(db, settings, courier, item.code, [render_page(1)])
    plain = settings.model_copy(update={"digitise_ocr_languages": ""})

    def make(pages: list[str], documents: list[DocumentPages] = []) -> object:  # noqa: B006
        return lambda: digitise(db, plain, actor, item.code, client_id=uuid.uuid4(),
                                page_sha256s=pages, documents=documents, now=NOW)  # fmt: skip

    assert _refusal(make([sha, "a" * 64])).reason == "digitise.pages_missing"
    assert _refusal(make([sha, sha])).reason == "digitise.duplicate_page"
    assert _refusal(make([])).reason == "digitise.no_pages"
    ranged = _refusal(make([sha], [DocumentPages("Tờ khai", 1, 2)]))
    assert isinstance(ranged, InvalidInput) and ranged.reason == "digitise.bad_page_range"
    assert db.scalar(select(func.count()).select_from(DigitisedCopy)
                     .where(DigitisedCopy.item_id == item.id)) == 0  # fmt: skip


def test_a_changed_pdf_is_named_by_its_ledger_event(db: Session, settings: Settings) -> None:
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    hashes = _upload(db, settings, courier, item.code, [render_page(1)])
    plain = settings.model_copy(update={"digitise_ocr_languages": ""})
    copy = digitise(db, plain, actor_for(courier), item.code, client_id=uuid.uuid4(),
                    page_sha256s=hashes, now=NOW)  # fmt: skip
    assert copy.data is not None
    db.execute(text("UPDATE digitised_copies SET data = :d WHERE id = :id"),
               {"d": copy.data.replace(b"hoso", b"HOSO"), "id": copy.id})  # fmt: skip
    db.refresh(copy)
    assert tampering(db, copy) == ["the PDF's bytes do not hash to the ledger's pdf_sha256"]


def test_the_copy_is_deleted_after_the_case_closes_and_the_deletion_is_an_event(
    db: Session, settings: Settings
) -> None:
    case, courier = _assigned_case(db, settings, service_option="send")
    item = dossier_of(db, case)
    hashes = _upload(db, settings, courier, item.code, [render_page(1)])
    plain = settings.model_copy(update={"digitise_ocr_languages": "",
                                        "digitised_retention_days": 30})  # fmt: skip
    copy = digitise(db, plain, actor_for(courier), item.code, client_id=uuid.uuid4(),
                    page_sha256s=hashes, now=NOW)  # fmt: skip
    later = datetime.now(UTC)

    def purged(days: int) -> list[Deleted]:
        # This case's copies only: copies that tests committed before (closed cases of the
        # browser tests) fall due too, and are deleted in this rolled-back transaction.
        found = purge_expired(db, plain, now=later + timedelta(days=days), limit=100_000)
        return [d for d in found if d.copy_id == copy.id]

    assert purged(400) == []  # not closed yet
    hand_to_office(db, case, courier, make_user(db, "desk_officer"))
    assert purged(29) == []  # closed, kept
    [deleted] = purged(31)
    assert deleted.copy_id == copy.id and deleted.pdf_sha256 == copy.pdf_sha256
    db.refresh(copy)
    assert copy.data is None and copy.deleted_at is not None
    assert _pages_of(db, item.id) == 0
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                       .order_by(CustodyEvent.seq.desc()).limit(1)).one()  # fmt: skip
    assert event.kind == "digitised_copy_deleted"
    assert event.details["pdf_sha256"] == copy.pdf_sha256
    assert purged(32) == []


def test_pick_up_after_digitising_at_the_door(db: Session, settings: Settings) -> None:
    """Digitised at the door (booked), then picked up: the ledger takes both in order."""
    case, courier = _assigned_case(db, settings)
    item = dossier_of(db, case)
    hashes = _upload(db, settings, courier, item.code, [render_page(1)])
    plain = settings.model_copy(update={"digitise_ocr_languages": ""})
    digitise(db, plain, actor_for(courier), item.code, client_id=uuid.uuid4(),
             page_sha256s=hashes, now=NOW)  # fmt: skip
    pick_up(db, case, courier)
    kinds = db.scalars(select(CustodyEvent.kind).where(CustodyEvent.item_id == item.id)
                       .order_by(CustodyEvent.seq)).all()  # fmt: skip
    assert kinds == ["booked", "digitised", "picked_up"]


def test_a_machine_without_tesseract_is_detected_and_the_pdf_still_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    tesseract_for.cache_clear()
    try:
        assert tesseract_for("vie") is None
        made = assemble([render_page(1)], ocr_languages="vie")
        assert made.text_layer is None and _text_of(made.pdf) == [""]
    finally:
        tesseract_for.cache_clear()  # found again, with the real PATH, by the next caller


def test_the_worker_runs_the_text_layer_job() -> None:
    """`hoso worker` delivers the text-layer messages the requests queue."""
    assert worker_handlers()[TEXT_LAYER_TOPIC] is text_layer_job
