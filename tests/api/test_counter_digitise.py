"""Digitising at the counter as a plain multipart form: the scanner's pages (a TIFF among
them) become the dossier's copy through the courier app's own services, the checklist is
ticked from it, and bad pages or another post office's dossier are refused with a reason,
changing nothing."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.counter.reception import book_walk_in
from core.custody.models import CustodyEvent
from core.digitising.models import DigitisedCopy, DossierPage
from core.digitising.text_layer import TEXT_LAYER_TOPIC
from core.identity.models import User
from core.identity.service import issue_token
from core.outbox.models import OutboxMessage
from core.settings import Settings
from tests.core.booking.helpers import booking_input, make_area
from tests.digitising_pages import render_page
from tests.factories import make_user


def _sign_in(client: TestClient, db: Session, settings: Settings, user: User) -> None:
    token = issue_token(db, settings, user, now=datetime.now(UTC)).token
    client.cookies.set("hoso_session", token)


def _query(response: object) -> dict[str, str]:
    location = response.headers["location"]  # type: ignore[attr-defined]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _tiff(page: bytes) -> bytes:
    out = io.BytesIO()
    with Image.open(io.BytesIO(page)) as image:
        image.convert("L").save(out, "TIFF")
    return out.getvalue()


def _counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (db.scalar(select(func.count()).select_from(CustodyEvent)) or 0,
            db.scalar(select(func.count()).select_from(DossierPage)) or 0,
            db.scalar(select(func.count()).select_from(DigitisedCopy)) or 0)  # fmt: skip


def test_the_counter_digitises_a_walk_in_and_ticks_the_checklist_from_the_pages(
    client: TestClient, db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = make_user(db, "counter_clerk", post_office_id=area.post_office.id)
    _sign_in(client, db, settings, clerk)
    created = book_walk_in(db, settings, clerk, booking_input(area, window_start=None),
                           now=datetime.now(UTC))  # fmt: skip
    case_url = f"/counter/cases/{created.case.id}"
    page = client.get(case_url)
    assert page.status_code == 200 and 'id="digitise-files"' in page.text
    assert "Số hóa hồ sơ" in page.text and "Lưu bản số hóa" in page.text
    english = client.get(f"{case_url}?lang=en").text
    assert "Digitise the dossier" in english and "Save the digitised copy" in english
    documents = [d for d in area.procedure.documents if d.get("kind") != "shown"]
    name = documents[0]["name_vi"]

    one, two = render_page(1), render_page(2)
    files = [("pages", ("trang-1.jpg", one, "image/jpeg")),
             ("pages", ("trang-2.tif", _tiff(two), "image/tiff"))]  # fmt: skip
    form = {"client_id": str(uuid.uuid4()), "doc_count": str(len(documents)),
            "doc_name_0": name, "doc_first_0": "1", "doc_last_0": "2"}  # fmt: skip
    answer = client.post(f"/counter/digitise/{created.case.id}", data=form, files=files,
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert _query(answer) == {"ok": "digitised:2"}

    copy = db.scalars(select(DigitisedCopy)
                      .where(DigitisedCopy.case_id == created.case.id)).one()  # fmt: skip
    assert copy.page_count == 2 and copy.text_layer is None
    assert copy.documents == [{"name": name, "first_page": 1, "last_page": 2}]
    event = db.scalars(select(CustodyEvent).where(CustodyEvent.event_id == copy.event_id)).one()
    assert event.details["captured_by"] == f"post_office:{area.post_office.id}"
    # The TIFF was stored as a lossless PNG: its hash is the PNG's, as the ledger says.
    stored = db.scalars(select(DossierPage).where(DossierPage.item_id == copy.item_id)
                        .order_by(DossierPage.id)).all()  # fmt: skip
    assert [p.content_type for p in stored] == ["image/jpeg", "image/png"]
    assert event.details["page_sha256s"] == [p.sha256 for p in stored]
    # The text layer is the worker's: queued, not made in the request.
    assert db.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.topic == TEXT_LAYER_TOPIC,
        OutboxMessage.payload["copy_id"].as_integer() == copy.id)) == 1  # fmt: skip

    # The same form sent again (a double click): the same copy, no second event.
    again = client.post(f"/counter/digitise/{created.case.id}", data=form, files=files,
                        follow_redirects=False)  # fmt: skip
    assert _query(again) == {"ok": "digitised:2"}
    assert db.scalar(select(func.count()).select_from(DigitisedCopy)
                     .where(DigitisedCopy.case_id == created.case.id)) == 1  # fmt: skip

    # The case page shows the copy and ticks the document with its pages.
    shown = client.get(f"{case_url}?lang=vi&ok=digitised:2").text
    assert 'id="digitised-copy" data-pages="2"' in shown
    assert "Đã số hóa 2 trang" in shown
    ticked = shown.split(f'aria-label="Có {name}"')[1].split(">")[0]
    assert "checked" in ticked


def test_bad_pages_and_another_post_offices_dossier_are_refused_changing_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    area = make_area(db)
    clerk = make_user(db, "counter_clerk", post_office_id=area.post_office.id)
    _sign_in(client, db, settings, clerk)
    created = book_walk_in(db, settings, clerk, booking_input(area, window_start=None),
                           now=datetime.now(UTC))  # fmt: skip
    url = f"/counter/digitise/{created.case.id}"
    before = _counts(db)
    good = render_page(1)
    fifty_mb = b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024)

    # A page that is not an image, next to a good one: both named, nothing kept.
    answer = client.post(url, files=[("pages", ("trang-1.jpg", good, "image/jpeg")),
                                     ("pages", ("ghi-chu.txt", b"hello", "text/plain"))],
                         follow_redirects=False)  # fmt: skip
    said = _query(answer)
    assert said["error"].startswith("Trang 2 (ghi-chu.txt) bị từ chối: Mỗi trang phải là ảnh"), said
    assert said["field"] == "pages[1]"
    # A 50 MB photo: refused by its size, named with the limit.
    answer = client.post(f"{url}?lang=en", files=[("pages", ("anh.jpg", fifty_mb, "image/jpeg"))],
                         headers={"Accept-Language": "en"}, follow_redirects=False)  # fmt: skip
    assert "Page 1 (anh.jpg) refused: A page may be at most 10 MB." in _query(answer)["error"]
    # A TIFF of two pages: each page is its own file.
    both = io.BytesIO()
    first, *rest = [Image.open(io.BytesIO(render_page(n))).convert("L") for n in (1, 2)]
    first.save(both, "TIFF", save_all=True, append_images=rest)
    answer = client.post(url, files=[("pages", ("hai-trang.tif", both.getvalue(), "image/tiff"))],
                         follow_redirects=False)  # fmt: skip
    assert "chỉ được có một trang" in _query(answer)["error"]
    # No pages at all.
    assert "ít nhất một trang" in _query(client.post(url, follow_redirects=False))["error"]
    # A page range outside the copy.
    bad_range = {"doc_count": "1", "doc_name_0": "Tờ khai", "doc_first_0": "2", "doc_last_0": "3"}
    answer = client.post(url, data=bad_range, files=[("pages", ("a.jpg", good, "image/jpeg"))],
                         follow_redirects=False)  # fmt: skip
    assert _query(answer)["field"] == "documents[0]"
    assert _counts(db) == before

    # Another post office's clerk: the dossier is not held there.
    other = make_user(db, "counter_clerk", post_office_id=make_area(db).post_office.id)
    _sign_in(client, db, settings, other)
    answer = client.post(url, files=[("pages", ("a.jpg", good, "image/jpeg"))],
                         follow_redirects=False)  # fmt: skip
    assert answer.headers["location"].startswith("/counter?")
    assert "không ở bưu cục này" in _query(answer)["error"]
    assert _counts(db) == before
