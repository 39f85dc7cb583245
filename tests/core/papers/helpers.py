"""A signed hand-over and a recorded dossier code, made through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.parties import party
from core.handovers.service import complete_handover, open_handover, receive_item
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from core.papers.codes import latest_record, record_dossier_code
from core.settings import Settings
from tests.factories import make_case, make_office, make_user
from tests.journey import pick_up
from tests.labels.samples import signature_png
from vntime import VN

# The events of tests.journey are stamped with the clock: the codes' dates follow it.
NOW = datetime.now(VN)


@dataclass(frozen=True)
class Signed:
    handover_id: int
    handover_code: str
    codes: list[str]  # the two dossiers: the first received, the second missing
    case: Case
    desk: User
    courier: User
    record_id: int


def signed_handover(session: Session, settings: Settings) -> Signed:
    """Two dossiers offered with 200.000 ₫ each; one arrives, the desk confirms its fee and
    both sign; then the desk records the received dossier's code and appointment."""
    office = make_office(session)
    desk = make_user(session, "desk_officer", office_id=office.id, full_name="Lê Thị Một Cửa")
    courier = make_user(session, "courier", full_name="Phạm Văn Bưu")
    cases = [make_case(session, settings, office=office) for _ in range(2)]
    codes = [pick_up(session, case, courier) for case in cases]
    opened = open_handover(
        session, actor_for(courier), giver=party("courier", courier.id),
        receiver=party("office", office.id), item_codes=codes, now=NOW,
        item_fees=dict.fromkeys(codes, 200_000),
    )  # fmt: skip
    receive_item(session, actor_for(desk), opened.handover.id, codes[0], now=NOW)
    courier_sig = store_media(session, signature_png("Bưu"), "image/png", uploaded_by_user_id=None)
    desk_sig = store_media(session, signature_png("Cửa"), "image/png", uploaded_by_user_id=None)
    complete_handover(
        session, actor_for(desk), opened.handover.id, now=NOW,
        item_fees={codes[0]: 200_000, codes[1]: 0},
        giver_signature_sha256=courier_sig, receiver_signature_sha256=desk_sig,
    )  # fmt: skip
    record_dossier_code(
        session, settings, cases[0], code_for(cases[0]),
        NOW.date() + timedelta(days=10), actor=actor_for(desk), recorded_by=desk.full_name,
        source="desk", now=NOW + timedelta(minutes=5),
    )  # fmt: skip
    record = latest_record(session, cases[0].id)
    assert record is not None
    return Signed(
        opened.handover.id, opened.handover.code, codes, cases[0], desk, courier, record.id
    )


def code_for(case: Case, sequence: int | None = None) -> str:
    """A Bắc Ninh dossier code dated today, unique per case (committed tests share a database)."""
    return f"000.P1.24.H05-{NOW:%y%m%d}-{(sequence or case.id) % 10000:04d}"


def appointment(days: int) -> date:
    return NOW.date() + timedelta(days=days)
