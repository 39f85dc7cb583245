"""Drive a case through the ledger the way the apps do, for tests that need it further on."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy.orm import Session

from core.cases.models import Case
from core.custody.parties import party
from core.custody.service import record_one
from core.identity.models import User
from core.identity.service import actor_for
from core.media.service import store_media
from tests.core.custody.helpers import PICKUP_DETAILS, scan
from tests.factories import dossier_of
from tests.labels.samples import signature_png


def pick_up(session: Session, case: Case, courier: User) -> str:
    code = dossier_of(session, case).code
    record_one(session, actor_for(courier), scan("picked_up", code, details=PICKUP_DETAILS))
    return code


def offer_to_office(session: Session, case: Case, courier: User, office_id: int) -> str:
    """Picked up and offered to the office: the hand-off waits for the desk to confirm."""
    code = pick_up(session, case, courier)
    record_one(session, actor_for(courier),
               scan("handover_offered", code, to_party=party("office", office_id)))  # fmt: skip
    return code


def hand_to_office(session: Session, case: Case, courier: User, desk: User) -> str:
    assert desk.office_id is not None
    code = offer_to_office(session, case, courier, desk.office_id)
    record_one(session, actor_for(desk), scan("handover_confirmed", code))
    return code


class Signatures(TypedDict):
    giver_signature_sha256: str
    receiver_signature_sha256: str


def both_signatures(session: Session) -> Signatures:
    """The two drawn signatures a hand-over record needs to be completed, stored as media."""
    giver = store_media(session, signature_png("Bên giao"), "image/png", uploaded_by_user_id=None)
    receiver = store_media(
        session, signature_png("Bên nhận"), "image/png", uploaded_by_user_id=None
    )
    return Signatures(giver_signature_sha256=giver, receiver_signature_sha256=receiver)
