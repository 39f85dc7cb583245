"""A dossier for an office in another province over the citizens' API and the tracking page:
the far office offered only for a procedure the post carries there, a refusal naming the
field in Vietnamese, the inter-province quote, and each transit step on /t/{item}."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.parties import party
from core.identity.models import User
from core.settings import Settings
from tests.api.citizen_helpers import at_now, sign_in
from tests.api.test_citizens import _body
from tests.core.booking.helpers import NOW, make_area
from tests.core.counter.test_cross_province import _bag, _carried, _far, _pick_up, _sitting
from tests.factories import make_user


def test_the_far_office_is_offered_priced_and_refused_by_the_catalogue(
    client: TestClient, db: Session
) -> None:
    at_now(client)
    area, far, carried = make_area(db), _far(db), _carried(db)
    look = {"commune_code": area.commune.code}
    plain = client.get("/api/v1/offices", params={**look, "procedure_id": area.procedure.id})
    assert far.office.id not in [o["id"] for o in plain.json()]
    offered = client.get("/api/v1/offices", params={**look, "procedure_id": carried.id}).json()
    far_choice = next(o for o in offered if o["id"] == far.office.id)
    assert far_choice["other_province"] and not far_choice["suggested"]
    assert offered[0]["id"] == area.office.id and not offered[0]["other_province"]

    quote = client.post("/api/v1/quotes", json={
        "service_option": "both", "procedure_id": carried.id,
        "commune_code": area.commune.code, "office_id": far.office.id,
    }).json()  # fmt: skip
    assert quote["zone"] == "other_province"

    sign_in(client, db)
    before = db.scalar(select(func.count()).select_from(Case))
    refused = client.post("/api/v1/bookings", json=_body(area, office_id=far.office.id))
    assert refused.status_code == 422
    body = refused.json()
    assert body["field"] == "office_id" and "tỉnh khác" in body["message"]
    assert area.procedure.name_vi in body["message"]
    assert db.scalar(select(func.count()).select_from(Case)) == before

    booked = client.post(
        "/api/v1/bookings", json=_body(area, office_id=far.office.id, procedure_id=carried.id)
    )
    assert booked.status_code == 201, booked.text


def test_tracking_names_the_post_office_a_bag_goes_to(
    client: TestClient, db: Session, settings: Settings
) -> None:
    at_now(client)
    area, far, carried = make_area(db), _far(db), _carried(db)
    sign_in(client, db)
    booked = client.post(
        "/api/v1/bookings", json=_body(area, office_id=far.office.id, procedure_id=carried.id)
    )
    assert booked.status_code == 201, booked.text
    case = db.get(Case, booked.json()["case_id"])
    assert case is not None
    courier = area.couriers[0]
    dispatcher: User = make_user(db, "dispatcher", post_office_id=area.post_office.id)
    code = _pick_up(db, settings, case, courier)
    later = NOW + timedelta(hours=9)
    _sitting(db, courier, dispatcher, party("courier", courier.id),
             party("post_office", area.post_office.id), code, later)  # fmt: skip
    _bag(db, dispatcher, code, far.post_office, "HUE-HN-02", later + timedelta(hours=1))

    timeline = client.get(f"/api/v1/tracking/{code}").json()["timeline"]
    places = {(e["kind"], e["place_vi"]) for e in timeline}
    assert ("departed", f"Gửi tới {far.post_office.name}") in places
    page = client.get(f"/t/{code}", headers={"Accept-Language": "vi"})
    assert page.status_code == 200 and f"Gửi tới {far.post_office.name}" in page.text
    # The citizen's own case page lists the transit steps too.
    mine = client.get(f"/my/cases/{case.id}", headers={"Accept-Language": "vi"})
    assert mine.status_code == 200 and 'id="transit"' in mine.text
    assert mine.text.count(f"Gửi tới {far.post_office.name}") == 2  # sealed, then sent
