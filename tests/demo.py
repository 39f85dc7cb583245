"""The demo seeded into the shared test database as into a fresh install."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.places.models import PostOffice
from core.seed import DEMO_PROVINCE, seed_demo
from core.settings import Settings


def seed_demo_as_installed(session: Session, settings: Settings, *, now: datetime) -> bool:
    """``seed_demo`` in a session that is rolled back afterwards. Tests that commit make their
    own post offices in Bắc Ninh, at the hub's address; a real install has only the province's
    reference post offices, so the hub's couriers serve the communes around it. Those test post
    offices leave the province for this session (the rollback brings them back)."""
    session.execute(
        update(PostOffice)
        .where(PostOffice.province_code == DEMO_PROVINCE, PostOffice.code.not_like("BN-%"))
        .values(province_code="01")
    )
    return seed_demo(session, settings, now=now)
