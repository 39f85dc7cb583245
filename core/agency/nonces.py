"""Spent nonces of signed requests (agency systems' and banks': their key ids never collide,
``ak_`` against ``bk_``), so a signed request is taken once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from core.agency.models import AgencyRequestNonce
from core.agency.signing import NONCE_HEADER
from core.db import transaction
from core.errors import Unauthorized
from core.settings import Settings


def spend_nonce(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    key_id: str,
    nonce: str,
    signature: str,
    now: datetime,
) -> None:
    """Remember the nonce and signature, in a transaction of their own, or refuse a replay.

    Committed before the request is handled, so even a request that then fails cannot be
    sent again. Entries older than twice the window can no longer pass the timestamp check,
    so they are dropped here as new ones arrive.
    """
    with transaction(factory) as session:
        stored = session.execute(
            insert(AgencyRequestNonce)
            .values(key_id=key_id, nonce=nonce, signature=signature, seen_at=now)
            .on_conflict_do_nothing()
            .returning(AgencyRequestNonce.id)
        ).first()
        if stored is None:
            raise Unauthorized("this request was already received (nonce or signature reused)",
                               field=NONCE_HEADER)  # fmt: skip
        horizon = now - timedelta(seconds=2 * settings.agency_signature_window_seconds)
        session.execute(delete(AgencyRequestNonce).where(AgencyRequestNonce.seen_at < horizon))
