"""An agency system fetching a digitised dossier: a short-lived signed link, every access logged.

The system asks (a signed API request) for the copy of a dossier in its scope and gets the
ledger's facts (each page's and the PDF's SHA-256, who captured it) with a link valid for
``digitised_link_seconds``. The link is an HMAC under the server secret over the copy, the
system and the expiry, so it needs no row and cannot be stretched or moved to another copy.
Before the bytes are served they are hashed again and compared with the ledger's event: a
copy changed in the database is refused as tampered, never served. Every issue, download
and refusal is a row in ``digitised_copy_accesses``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agency.models import AgencySystem
from core.cases.models import Booking, Case
from core.custody.models import Item
from core.digitising.models import DigitisedCopy, DigitisedCopyAccess
from core.digitising.service import latest_copy, ledger_facts
from core.errors import Conflict, DomainError, Forbidden, NotFound, code_refusal
from core.identity.service import keyed_hash
from core.inputs import INT4_MAX
from core.places.models import Office
from core.settings import Settings
from labels.errors import InvalidCode
from labels.s10 import validate_item_id

LINK_PATH = "/api/v1/digitised/files/"


@dataclass(frozen=True)
class CopyOffer:
    copy: DigitisedCopy
    item_code: str
    facts: dict[str, Any]
    link: str
    expires_at: datetime


def _link_signature(settings: Settings, copy_id: int, system_id: int, expires: int) -> str:
    return keyed_hash(settings, f"{copy_id}.{system_id}.{expires}", purpose="digitised-link")


def offer_copy(
    session: Session,
    settings: Settings,
    system: AgencySystem,
    code: str,
    *,
    now: datetime,
    remote_addr: str | None,
) -> CopyOffer:
    """The latest copy of dossier ``code`` for ``system``, with a fresh short-lived link."""
    try:
        code = validate_item_id(code)
    except InvalidCode as exc:
        raise code_refusal(exc, "item_id") from exc
    row = session.execute(
        # The province whose office handles the dossier (core.access.agency_case_scope).
        select(Item.id.label("item_id"), Office.province_code)
        .join(Case, Case.id == Item.case_id)
        .join(Booking, Booking.id == Case.booking_id)
        .join(Office, Office.id == Booking.office_id)
        .where(Item.code == code, Item.kind == "dossier")
    ).one_or_none()
    # Another province's dossier reads as absent: a system learns nothing outside its scope.
    if row is None or (
        system.province_code is not None and row.province_code != system.province_code
    ):
        raise NotFound(f"no digitised copy of {code}", field="item_id",
                       reason="digitise.no_copy", params={"code": code})  # fmt: skip
    copy = latest_copy(session, row.item_id)
    if copy is None:
        raise NotFound(f"no digitised copy of {code}", field="item_id",
                       reason="digitise.no_copy", params={"code": code})  # fmt: skip
    if copy.deleted_at is not None:
        raise Conflict(f"the copy of {code} was deleted after the retention period",
                       field="item_id", reason="digitise.copy_deleted",
                       params={"code": code})  # fmt: skip
    expires_at = now + timedelta(seconds=settings.digitised_link_seconds)
    expires = int(expires_at.timestamp())
    token = (
        f"{copy.id}.{system.id}.{expires}.{_link_signature(settings, copy.id, system.id, expires)}"
    )
    _log(session, copy.id, system.id, "link_issued", now, remote_addr)
    return CopyOffer(copy, code, ledger_facts(session, copy), LINK_PATH + token, expires_at)


@dataclass(frozen=True)
class Fetched:
    """The PDF behind a link, or why not. A refusal is returned, not raised, so the edge
    commits its access row before answering: a refused download is on record too."""

    copy: DigitisedCopy | None
    data: bytes | None
    refusal: DomainError | None


def fetch_copy(
    session: Session, settings: Settings, token: str, *, now: datetime, remote_addr: str | None
) -> Fetched:
    """The PDF behind a link from ``offer_copy``; refused when the link is forged, expired,
    the copy deleted, or its bytes no longer hash to the ledger's ``pdf_sha256``."""
    parts = token.split(".")
    forged = Forbidden("this is not a download link", field="token", reason="digitise.bad_link")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 12 for p in parts[:3]):
        return Fetched(None, None, forged)
    copy_id, system_id, expires = (int(p) for p in parts[:3])
    expected = _link_signature(settings, copy_id, system_id, expires)
    copy = session.get(DigitisedCopy, copy_id) if copy_id <= INT4_MAX else None
    if not hmac.compare_digest(expected, parts[3]) or copy is None:
        return Fetched(None, None, forged)
    refusal: DomainError | None = None
    if now.timestamp() > expires:
        kind = "refused_expired"
        refusal = Forbidden("the link has expired: ask the API for a new one", field="token",
                            reason="digitise.link_expired")  # fmt: skip
    elif copy.data is None:
        kind = "refused_deleted"
        code = session.scalars(select(Item.code).where(Item.id == copy.item_id)).one()
        refusal = Conflict(f"the copy of {code} was deleted after the retention period",
                           field="token", reason="digitise.copy_deleted",
                           params={"code": code})  # fmt: skip
    elif hashlib.sha256(copy.data).hexdigest() != ledger_facts(session, copy)["pdf_sha256"]:
        kind = "refused_tampered"
        refusal = Conflict("the stored copy does not match the ledger: it was changed",
                           field="token", reason="digitise.copy_tampered")  # fmt: skip
    else:
        kind = "downloaded"
    _log(session, copy_id, system_id, kind, now, remote_addr)
    if refusal is not None:
        return Fetched(copy, None, refusal)
    return Fetched(copy, copy.data, None)


def _log(session: Session, copy_id: int, system_id: int | None, kind: str, now: datetime,
         remote_addr: str | None) -> None:  # fmt: skip
    session.add(DigitisedCopyAccess(copy_id=copy_id, agency_system_id=system_id, kind=kind,
                                    at=now, remote_addr=remote_addr))  # fmt: skip
    session.flush()
