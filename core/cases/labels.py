"""Turning a case's records into the plain data the label renderers take."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.service import case_context
from core.custody.models import CustodyEvent, Item
from core.errors import NotFound
from core.settings import Settings
from labels.label import Address, LabelData, Party
from vntime import VN

# Dossier envelopes weigh little; the booking does not record a weight yet.
DEFAULT_WEIGHT_G = 100


def _street(address_text: str, commune_name: str) -> str:
    """The part of the citizen's address before the commune, so it is not printed twice."""
    head, sep, _ = address_text.partition(commune_name)
    return head.rstrip(" ,") if sep else address_text


def label_data_for(session: Session, settings: Settings, item_code: str) -> LabelData:
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None or item.case_id is None:
        raise NotFound(f"no item {item_code} with a case", field="item_id")
    context = case_context(session, item.case_id)
    booking, office, commune, province = (
        context.booking, context.office, context.commune, context.province,
    )  # fmt: skip
    citizen = Party(
        name=booking.contact_name,
        phone=booking.contact_phone,
        address=Address(_street(booking.address_text, commune.name), commune.name, province.name),
    )
    desk = Party(
        name=office.name_vi,
        phone="",
        address=Address(
            _street(office.address, context.office_commune.name),
            context.office_commune.name,
            province.name,
        ),
    )
    seal = session.scalar(
        select(CustodyEvent.details["seal_number"].astext)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.kind == "picked_up")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    sender, recipient = (citizen, desk) if item.kind == "dossier" else (desk, citizen)
    return LabelData(
        item_id=item.code,
        service="dossier" if item.kind == "dossier" else "result",
        tracking_url=f"{settings.public_base_url.rstrip('/')}/t/{item.code}",
        sender=sender,
        recipient=recipient,
        destination_office=office.name_vi,
        procedure_name=context.procedure.name_vi,
        seal_number=seal,
        weight_g=DEFAULT_WEIGHT_G,
        amount_to_collect_vnd=0,
        date=item.created_at.astimezone(VN).date(),
        post_office=context.post_office.name,
    )
