"""Wrong roles get a 403 (a Vietnamese page, or JSON), never a 500; printing follows
``core.access`` (a dispatcher prints only their own post office's hand-over records)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.custody.parties import party
from core.handovers.service import open_handover
from core.identity.models import User
from core.identity.service import actor_for, issue_token
from core.settings import Settings
from tests.api.conftest import RealTransactions
from tests.factories import make_case, make_office, make_post_office, make_user
from tests.journey import pick_up


def _token(db: Session, settings: Settings, user: User) -> str:
    return issue_token(db, settings, user, now=datetime.now(UTC)).token


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("courier", "/desk"),
        ("citizen", "/desk/codes"),
        ("desk_officer", "/dispatch"),
        ("dispatcher", "/my"),
        ("admin", "/book"),
    ],
)
def test_a_signed_in_user_of_another_role_gets_a_403_page_in_vietnamese(
    real: RealTransactions, settings: Settings, role: str, path: str
) -> None:
    user = make_user(real.db, role, full_name="Đỗ Thị Lạc Đường")
    real.client.cookies.set("hoso_session", _token(real.db, settings, user))

    page = real.client.get(path)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "Không có quyền truy cập" in page.text and "Đỗ Thị Lạc Đường" in page.text

    english = real.client.get(path, params={"lang": "en"})
    assert english.status_code == 403 and "You cannot open this page" in english.text


def test_a_wrong_role_on_a_form_post_is_refused_with_the_page_too(
    real: RealTransactions, settings: Settings
) -> None:
    courier = make_user(real.db, "courier")
    real.client.cookies.set("hoso_session", _token(real.db, settings, courier))
    posted = real.client.post("/desk/results", data={"code": "DH000000014VN"})
    assert posted.status_code == 403 and "Bưu tá" in posted.text


def test_json_endpoints_answer_a_wrong_role_with_the_error_shape(
    real: RealTransactions, settings: Settings
) -> None:
    citizen = make_user(real.db, "citizen")
    auth = {"Authorization": f"Bearer {_token(real.db, settings, citizen)}"}
    for path in ("/print/labels/DH000000014VN.pdf", "/mobile/v1/devices",
                 "/api/v1/admin/webhooks/dead"):  # fmt: skip
        answer = real.client.get(path, headers=auth)
        assert answer.status_code == 403, path
        assert set(answer.json()) >= {"error", "detail", "field"}
        assert answer.json()["error"] == "forbidden"


def test_a_dispatcher_prints_only_their_own_post_offices_handover_records(
    client: TestClient, db: Session, settings: Settings
) -> None:
    here, elsewhere = make_post_office(db), make_post_office(db)
    office = make_office(db)
    courier = make_user(db, "courier", post_office_id=here.id)
    code = pick_up(db, make_case(db, settings, post_office=here, office=office), courier)
    opened = open_handover(db, actor_for(courier), giver=party("courier", courier.id),
                           receiver=party("office", office.id), item_codes=[code],
                           now=datetime.now(UTC))  # fmt: skip
    path = f"/print/handovers/{opened.handover.id}.pdf"

    own = make_user(db, "dispatcher", post_office_id=here.id)
    other = make_user(db, "dispatcher", post_office_id=elsewhere.id)
    allowed = client.get(path, headers={"Authorization": f"Bearer {_token(db, settings, own)}"})
    assert allowed.status_code == 200 and allowed.headers["content-type"] == "application/pdf"

    refused = client.get(path, headers={"Authorization": f"Bearer {_token(db, settings, other)}"})
    assert refused.status_code == 403
    assert refused.json()["field"] == "handover_id"
